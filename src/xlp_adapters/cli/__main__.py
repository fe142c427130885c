"""``python -m xlp_adapters.cli``: the same as ``xlp``."""

from __future__ import annotations

from xlp_adapters.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
