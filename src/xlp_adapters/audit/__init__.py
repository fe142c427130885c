"""Audit sinks: JSONL, SQLite, memory. All append-only and redacting."""

from xlp_adapters.audit.jsonl import JsonlAuditSink
from xlp_adapters.audit.memory import MemoryAuditSink
from xlp_adapters.audit.redact import is_secret_key, redact
from xlp_adapters.audit.sqlite import SqliteAuditSink

__all__ = ["JsonlAuditSink", "MemoryAuditSink", "SqliteAuditSink", "is_secret_key", "redact"]
