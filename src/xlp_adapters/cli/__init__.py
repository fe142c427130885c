"""``xlp``: the command line.

* ``xlp run`` — the hedger; the paper exchange unless the config names a real
  venue *and* ``--live`` is given;
* ``xlp backtest DATA_DIR`` — replay a scenario through the real cycle on the
  paper exchange and print a summary;
* ``xlp config`` — validate a config and print the effective settings as TOML;
* ``xlp status`` / ``xlp audit`` — what the hedger is doing, from its state and
  audit log (no venue access).

Each subcommand is a module with ``add_parser(subparsers)`` and ``run(args) ->
int``, imported only when that subcommand runs, so ``xlp --help`` costs little
more than the interpreter. Exit codes: 0 ok; 2 configuration, input or
permission problem (nothing was sent); 3 state or audit problem; 1 anything else.
"""

from __future__ import annotations

# Only what `xlp --help` needs is imported here (not typing, pathlib, logging or
# xlp_core): a subcommand's own imports happen when it runs.
import argparse
import importlib
import os
import sys

TYPE_CHECKING = False  # not `from typing import`: typing alone costs ~8 ms

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

    from xlp_adapters.cli._protocol import CommandModule

__all__ = ["COMMANDS", "Command", "main", "register"]

EXIT_OK, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2


class Command:
    """A registry entry: the module is imported only when the command is chosen."""

    def __init__(self, module: str, help: str, *, optional: bool = False) -> None:
        self.module = module
        self.help = help
        self.optional = optional

    def available(self) -> bool:
        """Optional commands (from another part of the package) may be absent."""
        if not self.optional:
            return True
        here = os.path.dirname(os.path.abspath(__file__))
        base = os.path.join(os.path.dirname(os.path.dirname(here)), *self.module.split("."))
        return os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__init__.py"))

    def load(self) -> CommandModule:
        module: CommandModule = importlib.import_module(self.module)
        return module


COMMANDS: dict[str, Command] = {
    "run": Command("xlp_adapters.cli.run", "run the hedger (paper exchange unless --live)"),
    "backtest": Command(
        "xlp_adapters.cli.backtest", "replay a scenario through the hedger on the paper exchange"
    ),
    "sweep": Command(
        "xlp_adapters.backtest.sweep_cli", "backtest a grid of configs", optional=True
    ),
    "config": Command(
        "xlp_adapters.cli.config_cmd", "validate a config and print the effective settings"
    ),
    "status": Command(
        "xlp_adapters.cli.status", "show state, open orders and the last cycle (no venue access)"
    ),
    "audit": Command("xlp_adapters.cli.audit", "print audit-log events, filtered"),
}


def register(name: str, module: str, help: str, *, optional: bool = False) -> None:
    """Add a subcommand: ``module`` has ``add_parser(subparsers)`` and ``run(args)``."""
    COMMANDS[name] = Command(module, help, optional=optional)


def _version() -> str:
    """The installed version, from the ``xlp_core-VERSION.dist-info`` directory name.

    ``importlib.metadata`` alone takes longer to import than the rest of the
    CLI, so it is only the fallback.
    """
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("xlp_core-") and name.endswith(".dist-info"):
                return name[len("xlp_core-") : -len(".dist-info")]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xlp-core")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """``--version`` reads the package metadata only when asked (it is slow to import)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print(f"xlp {_version()}")
        parser.exit(EXIT_OK)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (exit 2), with anything key-like in them hidden."""

    def error(self, message: str) -> NoReturn:
        import re

        message = re.sub(r"[0-9A-Za-z+/=_-]{24,}", "<hidden>", " ".join(message.split()))
        where = self.prog.removeprefix("xlp").strip()
        prefix = f"xlp: {where}: " if where else "xlp: "
        self.exit(EXIT_CONFIG, f"{prefix}{message} (see {self.prog} --help)\n")


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not a global option)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--log-level":
            skip = True
        elif word == "--":
            return None
        elif not word.startswith("-"):
            return word
    return None


def build_parser(
    argv: Sequence[str] = (),
) -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    """The parser, with full options only for the subcommand ``argv`` names."""
    doc = (__doc__ or "").split("\n\n")
    parser = _Parser(
        prog="xlp",
        description="Delta-hedge liquidity-pool tokens with perpetual futures.",
        epilog=doc[-1].split("more than the interpreter. ")[-1],
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument(
        "--log-level",
        metavar="LEVEL",
        help="DEBUG, INFO, WARNING, ERROR or CRITICAL (default: $XLP_LOG_LEVEL or INFO)",
    )
    sub: Any = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = _chosen(argv)
    runners: dict[str, Callable[[argparse.Namespace], int]] = {}
    for name, command in COMMANDS.items():
        if not command.available():
            continue
        if name == chosen:
            module = command.load()
            module.add_parser(sub)
            runners[name] = module.run
        else:
            sub.add_parser(name, help=command.help, description=command.help)
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``xlp``; returns the exit code (argparse may raise SystemExit(2))."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        if not args_in or args_in[0] in ("-h", "--help", "--version"):
            build_parser(args_in)[0].parse_args(args_in)  # help/usage needs nothing more
        return _main(args_in)
    except BrokenPipeError:
        # `xlp audit | head -1`: the reader left; that is not an error of ours.
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        print("xlp: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str]) -> int:
    from xlp_adapters.cli._common import configure_logging, report, resolve_log_level
    from xlp_core.errors import XlpError

    try:
        parser, runners = build_parser(argv)
    except XlpError as exc:  # e.g. an optional command's missing extra
        return report(exc)
    except ImportError as exc:
        print(f"xlp: cannot load command: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    args = parser.parse_args(argv)
    try:
        level = resolve_log_level(args.log_level, os.environ)
    except XlpError as exc:
        return report(exc)
    configure_logging(level)
    try:
        code = runners[args.command](args)
        sys.stdout.flush()
        return int(code)
    except XlpError as exc:
        return report(exc)
    except ImportError as exc:  # an optional dependency an adapter did not wrap
        print(f"xlp: missing dependency {exc.name or exc}: install the extra it belongs to",
              file=sys.stderr)  # fmt: skip
        return EXIT_CONFIG
    except MemoryError:
        print("xlp: out of memory", file=sys.stderr)
        return EXIT_ERROR
    except (BrokenPipeError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bug: one line for the operator, the trace at DEBUG
        import logging

        logging.getLogger("xlp_adapters.cli").debug("internal error", exc_info=True)
        return report(exc, internal=True)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
