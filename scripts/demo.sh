#!/usr/bin/env bash
# One command: install, then backtest the sample data on the paper exchange
# through the real hedge cycle, with state and audit in embedded SQLite.
set -euo pipefail
source "$(dirname "$0")/_venv.sh" backtest
mkdir -p out
.venv/bin/xlp backtest examples/data/sample \
  --config examples/data/sample/hedge.toml \
  --state out/demo-state.sqlite --audit out/demo-audit.sqlite --overwrite \
  --plot out/demo.png --csv out/demo.csv "$@"
