"""State stores: JSON file, SQLite, memory."""

from xlp_adapters.stores.json_file import JsonFileStateStore
from xlp_adapters.stores.memory import MemoryStateStore
from xlp_adapters.stores.sqlite import SqliteStateStore

__all__ = ["JsonFileStateStore", "MemoryStateStore", "SqliteStateStore"]
