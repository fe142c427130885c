"""``python -m xlp_adapters.backtest DIR``: write the synthetic sample scenario."""

from __future__ import annotations

from xlp_adapters.backtest.data import main

if __name__ == "__main__":
    raise SystemExit(main())
