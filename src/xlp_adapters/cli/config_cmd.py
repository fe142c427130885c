"""``xlp config``: validate a config and print the effective settings as TOML.

Each line says where its value came from (``# file``, ``# env XLP_...`` or
``# default``); secrets (notification URLs, anything that looks like a key)
are masked, so the output can be pasted into a bug report.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence

from xlp_adapters.cli._common import EXIT_OK, default_config_path, load_config_sources

SECRET_FIELDS = frozenset({"notify_urls"})

DESCRIPTION = """\
Validate a config (TOML file, then XLP_* environment variables) and print the
effective settings as TOML, each with its source (file, env or default).
Secrets are masked. Exit 2 if the config is invalid."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> object:
    c = subparsers.add_parser(
        "config", help="validate a config and print the effective settings", description=DESCRIPTION
    )
    c.add_argument("--config", help="TOML file (default: ./xlp.toml if present)")
    c.add_argument(
        "--no-env", action="store_true", help="ignore XLP_* environment variables (as backtests do)"
    )
    return c


def run(args: argparse.Namespace) -> int:
    config, sources = load_config_sources(args.config, {} if args.no_env else os.environ)
    path = default_config_path(args.config)
    env = "ignored" if args.no_env else "applied"
    print(f"# effective settings: file {path or '(none)'}; XLP_* environment {env}")
    print("[hedge]")
    for name, source in sources.items():
        value = getattr(config, name)
        shown = masked(value) if name in SECRET_FIELDS else value
        where = f"env XLP_{name.upper()}" if source == "env" else source
        print(f"{name} = {toml_value(shown)}  # {where}")
    for warning in config.warnings():
        print(f"xlp: warning: {warning}", file=sys.stderr)
    return EXIT_OK


def mask_url(url: str) -> str:
    """``xlp_adapters.notify.mask_url`` when available, else the whole URL hidden."""
    import importlib

    try:
        notify_mask = importlib.import_module("xlp_adapters.notify").mask_url
        return str(notify_mask(url))
    except Exception:  # absent, or a masking bug: never print the secret instead
        return "***"


def masked(value: object) -> object:
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, Sequence):
        return tuple(mask_url(str(v)) for v in value)
    return "***"


def toml_value(value: object) -> str:
    """A TOML literal for a config value (strings, numbers, arrays, inline tables)."""
    from xlp_core.config import looks_secret

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, str):
        return json.dumps("***" if looks_secret(value) else value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def _key(key: object) -> str:
    text = str(key)
    if text and all(c.isascii() and (c.isalnum() or c in "_-") for c in text):
        return text
    return json.dumps(text)
