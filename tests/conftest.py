"""Test-wide settings.

Hypothesis' per-example deadline measures the machine, not the code: a busy
CI runner would turn it into a flaky failure. Timing belongs in
``benchmarks/``; hangs are caught by ``pytest-timeout``. A failing example is
printed with its reproduction blob.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("xlp", deadline=None, print_blob=True)
settings.load_profile("xlp")
