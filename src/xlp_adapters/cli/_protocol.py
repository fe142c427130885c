"""What a subcommand module provides (for type checking only)."""

from __future__ import annotations

import argparse
from typing import Protocol


class CommandModule(Protocol):
    def add_parser(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> object:
        """Add ``subparsers.add_parser(NAME, ...)`` with its options."""

    def run(self, args: argparse.Namespace) -> int:
        """Do the work; return the exit code (errors may also be raised as XlpError)."""
