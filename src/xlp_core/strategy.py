"""The pluggable decision step.

A strategy turns the previous state of a symbol and this cycle's observation
into a :class:`~xlp_core.decision.Decision`. It must be pure: ``now`` is
given, never read, so backtests and tests replay it exactly. Custom strategies
usually reuse :func:`~xlp_core.decision.observe` (fill detection, cost basis)
and replace only the rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from xlp_core.decision import Decision, DecisionParams, Observation, decide, observe
from xlp_core.state import SymbolState


@runtime_checkable
class Strategy(Protocol):
    def decide(self, prev: SymbolState, obs: Observation, now: datetime) -> Decision: ...


@attrs.frozen
class ZoneStrategy:
    """The reference bot's zone / timeout / cooldown rules, with its bugs fixed."""

    params: DecisionParams = attrs.field(factory=DecisionParams)

    def decide(self, prev: SymbolState, obs: Observation, now: datetime) -> Decision:
        return decide(observe(prev, obs, now, self.params), obs, now, self.params)
