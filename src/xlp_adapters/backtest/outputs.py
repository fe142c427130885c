"""Checking and writing output files (``--csv``, ``--plot``) with typed errors.

A backtest of a year can take minutes: an unwritable target must be refused
*before* it runs, with one line naming the path, not after with a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from xlp_core.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd


class OutputPathError(InvalidInputError):
    """An output file cannot be written (a directory, no permission, no such parent...)."""


def check_writable(path: str | Path, what: str) -> Path:
    """Return ``path`` if a file can be created or replaced there; else raise.

    Creates missing parent directories (as writing would). Nothing is written
    to the file itself, so an existing file is left alone until the run ends.
    """
    out = Path(path)
    if not str(path).strip():
        raise OutputPathError(f"{what}: empty path")
    if out.is_dir():
        raise OutputPathError(f"{what} {out}: is a directory")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"{what} {out}: cannot create {parent}: {exc.strerror}") from None
    if not parent.is_dir():
        raise OutputPathError(f"{what} {out}: {parent} is not a directory")
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputPathError(f"{what} {out}: not writable")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"{what} {out}: directory {parent} not writable")
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, what: str = "--csv") -> Path:
    """``frame.to_csv(path)`` with a typed one-line error instead of an OSError."""
    out = check_writable(path, what)
    try:
        frame.to_csv(out)
    except OSError as exc:
        raise OutputPathError(f"{what} {out}: {exc.strerror or exc}") from None
    return out
