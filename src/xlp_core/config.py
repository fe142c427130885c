"""``HedgeConfig``: every knob of a hedger, validated once at start-up.

Loaded from a TOML file and/or ``XLP_*`` environment variables (environment
wins). Unknown keys are errors: the reference bot silently replaced a user's
thresholds with the defaults because of a misspelt key. Secrets (exchange
keys) are deliberately *not* part of this object; adapters read them from the
environment so they never end up in a config dump.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import attrs

from xlp_core.decision import DecisionParams
from xlp_core.errors import ConfigError
from xlp_core.hedge import normalise_symbol
from xlp_core.zones import Thresholds

ENV_PREFIX = "XLP_"
Mode = Literal["paper", "live"]


def _finite(lo: float | None = None, *, strict: bool = False, hi: float | None = None) -> Any:
    def check(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(attribute.name, f"must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(attribute.name, f"must be finite, got {value!r}")
        if lo is not None and (value <= lo if strict else value < lo):
            op = ">" if strict else ">="
            raise ConfigError(attribute.name, f"must be {op} {lo}, got {value}")
        if hi is not None and value > hi:
            raise ConfigError(attribute.name, f"must be <= {hi}, got {value}")

    return check


def _holdings(
    instance: object, attribute: attrs.Attribute[Any], value: Mapping[str, float]
) -> None:
    for pool, amount in value.items():
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise ConfigError(f"{attribute.name}.{pool}", f"must be a number, got {amount!r}")
        if not math.isfinite(amount) or amount < 0:
            raise ConfigError(f"{attribute.name}.{pool}", f"must be finite and >= 0, got {amount}")


def _offsets(instance: object, attribute: attrs.Attribute[Any], value: Mapping[str, float]) -> None:
    for sym, amount in value.items():
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise ConfigError(f"{attribute.name}.{sym}", f"must be a number, got {amount!r}")
        if not math.isfinite(amount):
            raise ConfigError(f"{attribute.name}.{sym}", f"must be finite, got {amount}")


def _upper_keys(value: Mapping[str, float]) -> dict[str, float]:
    return {normalise_symbol(k): float(v) for k, v in value.items()}


@attrs.frozen(kw_only=True)
class HedgeConfig:
    """Configuration of one hedger. Defaults follow the reference bot where sane."""

    pools: Mapping[str, float] = attrs.field(factory=dict, validator=_holdings)
    """LP token counts per pool name (``JLP``, ``ALP``): token counts, not USD."""
    symbols: tuple[str, ...] = ()
    """Restrict hedging to these symbols (empty = every symbol the pools expose)."""
    initial_offsets: Mapping[str, float] = attrs.field(
        factory=dict, converter=_upper_keys, validator=_offsets
    )
    """Signed token amounts held elsewhere, added to the venue position."""

    threshold_min_usd: float = attrs.field(default=5.0, validator=_finite(0, strict=True))
    threshold_max_usd: float = attrs.field(default=20.0, validator=_finite(0, strict=True))
    threshold_step_usd: float = attrs.field(default=2.5, validator=_finite(0, strict=True))
    order_timeout_minutes: float = attrs.field(default=20.0, validator=_finite(0, strict=True))
    cooldown_after_fill_minutes: float = attrs.field(default=5.0, validator=_finite(0))
    order_price_offset_pct: float = attrs.field(default=0.2, validator=_finite(0, hi=10))
    close_ratio_pct: float = attrs.field(default=40.0, validator=_finite(0, strict=True, hi=100))
    max_limit_deviation_pct: float = attrs.field(default=5.0, validator=_finite(0, hi=50))
    market_slippage_pct: float = attrs.field(default=1.0, validator=_finite(0, strict=True, hi=20))
    alert_repeat_minutes: float = attrs.field(default=15.0, validator=_finite(0))
    post_only: bool = False

    check_interval_seconds: float = attrs.field(default=60.0, validator=_finite(0, strict=True))
    min_order_notional_usd: float = attrs.field(default=10.0, validator=_finite(0))
    max_order_notional_usd: float = attrs.field(default=5_000.0, validator=_finite(0, strict=True))
    max_cycle_notional_usd: float = attrs.field(default=20_000.0, validator=_finite(0, strict=True))

    rate_limit_per_minute: int = attrs.field(default=60, validator=_finite(1))
    price_cache_ttl_seconds: float = attrs.field(default=2.0, validator=_finite(0))
    breaker_failure_threshold: int = attrs.field(default=5, validator=_finite(1))
    breaker_reset_seconds: float = attrs.field(default=60.0, validator=_finite(0, strict=True))
    # Resting orders expire after order_timeout x this (a dead process leaves
    # nothing resting for long); a scheduled venue-side cancel-all is re-armed
    # each cycle this far ahead (0 disables it).
    order_expiry_multiple: float = attrs.field(default=3.0, validator=_finite(1))
    dead_man_switch_seconds: float = attrs.field(default=600.0, validator=_finite(0))
    # A price older than this is not traded on (paper feeds, caches).
    stale_price_seconds: float = attrs.field(default=30.0, validator=_finite(0, strict=True))
    # Refuse a pool snapshot whose decoded value differs from the pool's own
    # on-chain AUM by more than this (a moved field after a program upgrade).
    pool_drift_tolerance_pct: float = attrs.field(default=2.0, validator=_finite(0, strict=True))
    # Bounded retries of start-up reads (reconciliation) before giving up.
    startup_retry_attempts: int = attrs.field(default=5, validator=_finite(1))
    # Where alerts go (Apprise or webhook URLs; secrets, never printed) and
    # the Prometheus port of `xlp run` (0: no metrics endpoint).
    notify_urls: tuple[str, ...] = ()
    metrics_port: int = attrs.field(default=0, validator=_finite(0, hi=65535))

    mode: Mode = "paper"
    exchange: str = "paper"
    namespace: str = "xlp"
    state_path: str = "xlp-state.sqlite"
    audit_path: str = "xlp-audit.sqlite"
    rpc_url: str = "https://api.mainnet-beta.solana.com"
    lighter_base_url: str = "https://mainnet.zklighter.elliot.ai"
    lighter_chain_id: int = 304

    def __attrs_post_init__(self) -> None:
        if self.mode not in ("paper", "live"):
            raise ConfigError("mode", f"must be 'paper' or 'live', got {self.mode!r}")
        if self.exchange not in ("paper", "lighter"):
            raise ConfigError("exchange", f"must be 'paper' or 'lighter', got {self.exchange!r}")
        if self.exchange != "paper" and self.mode != "live":
            raise ConfigError(
                "mode", f"exchange {self.exchange!r} trades real money: set mode = 'live'"
            )
        if not self.namespace or len(self.namespace) > 64:
            raise ConfigError("namespace", "must be 1-64 characters")
        if self.max_cycle_notional_usd < self.max_order_notional_usd:
            raise ConfigError("max_cycle_notional_usd", "must be >= max_order_notional_usd")
        # Thresholds validates min < max and the step count.
        self.thresholds()

    def thresholds(self) -> Thresholds:
        return Thresholds(self.threshold_min_usd, self.threshold_max_usd, self.threshold_step_usd)

    def decision_params(self) -> DecisionParams:
        return DecisionParams(
            thresholds=self.thresholds(),
            order_timeout=timedelta(minutes=self.order_timeout_minutes),
            cooldown=timedelta(minutes=self.cooldown_after_fill_minutes),
            price_offset_pct=self.order_price_offset_pct,
            close_ratio_pct=self.close_ratio_pct,
            max_limit_deviation_pct=self.max_limit_deviation_pct,
            market_slippage_pct=self.market_slippage_pct,
            alert_repeat=timedelta(minutes=self.alert_repeat_minutes),
            min_order_notional=self.min_order_notional_usd,
            post_only=self.post_only,
        )

    def warnings(self) -> list[str]:
        """Non-fatal but probably wrong settings, for the operator to read."""
        out = []
        if not any(self.pools.values()):
            out.append("no pool holdings configured: nothing will be hedged")
        if self.threshold_max_usd * self.close_ratio_pct / 100 < self.min_order_notional_usd:
            out.append(
                "threshold_max_usd x close_ratio is below the minimum order notional: "
                "orders will be raised to the venue minimum"
            )
        return out

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> HedgeConfig:
        """Build from a plain mapping (a parsed TOML table); unknown keys are errors."""
        known = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], f"unknown setting (known: {', '.join(sorted(known))})")
        kwargs = dict(data)
        if "symbols" in kwargs:
            syms = kwargs["symbols"]
            if not isinstance(syms, list | tuple) or not all(isinstance(s, str) for s in syms):
                raise ConfigError("symbols", "must be a list of strings")
            kwargs["symbols"] = tuple(normalise_symbol(s) for s in syms)
        if "notify_urls" in kwargs:
            urls = kwargs["notify_urls"]
            if not isinstance(urls, list | tuple) or not all(isinstance(u, str) for u in urls):
                raise ConfigError("notify_urls", "must be a list of URL strings")
            kwargs["notify_urls"] = tuple(urls)
        for name in ("pools", "initial_offsets"):
            if name in kwargs and not isinstance(kwargs[name], Mapping):
                raise ConfigError(name, "must be a table of name = number")
        for f in attrs.fields(cls):
            if f.name not in kwargs:
                continue
            value, default = kwargs[f.name], f.default
            if isinstance(default, str) and not isinstance(value, str):
                raise ConfigError(f.name, f"must be a string, got {value!r}")
            if isinstance(default, bool) and not isinstance(value, bool):
                raise ConfigError(f.name, f"must be true or false, got {value!r}")
            int_field = isinstance(default, int) and not isinstance(default, bool)
            if int_field and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f.name, f"must be an integer, got {value!r}")
        try:
            return cls(**kwargs)
        except TypeError as exc:  # wrong types attrs could not validate
            raise ConfigError("config", str(exc)) from exc

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> HedgeConfig:
        """TOML file (optional; keys at top level or under ``[hedge]``) then ``XLP_*`` env."""
        data: dict[str, Any] = {}
        if path is not None:
            p = Path(path)
            try:
                raw = tomllib.loads(p.read_text(encoding="utf-8"))
            except FileNotFoundError as exc:
                raise ConfigError("config", f"file not found: {p}") from exc
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError("config", f"{p}: invalid TOML: {exc}") from exc
            data.update(raw.get("hedge", raw))
        data.update(env_overrides(os.environ if environ is None else environ))
        return cls.from_mapping(data)


_BOOL = {
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off"), False),
}


def _parse_pairs(name: str, text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(name, f"expected NAME=NUMBER pairs, got {part!r}")
        try:
            out[key.strip().upper()] = float(value)
        except ValueError as exc:
            raise ConfigError(name, f"not a number: {value!r}") from exc
    return out


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings from ``XLP_<FIELD>`` variables, converted to the field's type.

    Maps are ``NAME=NUMBER`` comma lists (``XLP_POOLS=JLP=1200,ALP=0``).
    Variables that are not settings (e.g. ``XLP_LIGHTER_PRIVATE_KEY``) are
    left to the adapters and never read here.
    """
    out: dict[str, Any] = {}
    for f in attrs.fields(HedgeConfig):
        key = ENV_PREFIX + f.name.upper()
        if key not in environ:
            continue
        text = environ[key].strip()
        if f.name in ("pools", "initial_offsets"):
            out[f.name] = _parse_pairs(f.name, text)
        elif f.name == "symbols":
            out[f.name] = [s.strip() for s in text.split(",") if s.strip()]
        elif f.name == "notify_urls":
            out[f.name] = [u.strip() for u in text.split() if u.strip()]
        elif isinstance(f.default, bool):
            if text.lower() not in _BOOL:
                raise ConfigError(f.name, f"not a boolean: {text!r}")
            out[f.name] = _BOOL[text.lower()]
        elif isinstance(f.default, int | float):
            try:
                out[f.name] = int(text) if isinstance(f.default, int) else float(text)
            except ValueError as exc:
                raise ConfigError(f.name, f"not a number: {text!r}") from exc
        else:
            out[f.name] = text
    return out
