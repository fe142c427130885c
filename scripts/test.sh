#!/usr/bin/env bash
# One command: install with every extra, then lint, type-check and test.
set -euo pipefail
source "$(dirname "$0")/_venv.sh" dev,lighter
export NO_PROXY=127.0.0.1,localhost
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
