"""Journals: a state store and an audit log committed together.

A cycle's non-order audit events and its new state go to disk in one
durable write (``commit``), so a cycle costs one fsync besides each order's
write-ahead record.
"""

from xlp_adapters.journal.file import FileJournal
from xlp_adapters.journal.memory import MemoryJournal
from xlp_adapters.journal.open import open_audit, open_records, open_store
from xlp_adapters.journal.sqlite import SqliteJournal

__all__ = [
    "FileJournal",
    "MemoryJournal",
    "SqliteJournal",
    "open_audit",
    "open_records",
    "open_store",
]
