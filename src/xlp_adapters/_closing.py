"""``with`` support for the adapters that hold a file or a connection."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """Makes ``with X(...) as x:`` call ``x.close()``, however the block ends."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
