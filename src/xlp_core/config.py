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
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, Literal, get_args

import attrs

from xlp_core.decision import DecisionParams
from xlp_core.errors import ConfigError, InvalidInputError
from xlp_core.hedge import normalise_symbol
from xlp_core.zones import Thresholds

ENV_PREFIX = "XLP_"
Mode = Literal["paper", "live"]
IdleFsync = Literal["background", "inline"]
Source = Literal["default", "file", "env"]

# ``XLP_*`` variables that are not settings but are legitimately read elsewhere
# (credentials by the venue adapters, the CLI's log level, the switch that
# keeps orjson out of the audit writer). Any other ``XLP_*``
# name that is not a setting is an error, like an unknown TOML key: a misspelt
# variable must not be silently ignored.
NON_SETTING_ENV: Final = frozenset(
    {
        "XLP_LIGHTER_PRIVATE_KEY",
        "XLP_LIGHTER_ACCOUNT_INDEX",
        "XLP_LIGHTER_API_KEY_INDEX",
        "XLP_LOG_LEVEL",
        "XLP_PURE_JSON",
    }
)

# No setting is sensibly larger; bigger numbers only overflow downstream.
MAX_NUMBER: Final = 1e15

_KEYLIKE = re.compile(r"^(0x)?[0-9A-Za-z+/=_-]{24,}$")
_TOKEN = re.compile(r"[0-9A-Za-z+/=_-]{32,}")


def looks_secret(value: object) -> bool:
    """A string that could be a key (long hex / base58 / base64), hold one (a long
    token with digits, e.g. in a URL), or be a URL with credentials."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if _KEYLIKE.match(text) or ("://" in text and "@" in text):
        return True
    return any(any(c.isdigit() for c in m) for m in _TOKEN.findall(text))


def shown(value: object) -> str:
    """A rejected value as an error message may show it: short, and never a key."""
    if looks_secret(value):
        return "<hidden>"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_idle_fsync(value: object, field: str) -> None:
    """``ConfigError`` unless ``value`` is one of :data:`IdleFsync` (the config and the journal)."""
    if value not in get_args(IdleFsync):
        raise ConfigError(field, f"must be 'background' or 'inline', got {shown(value)}")


def _number(name: str, value: object) -> float:
    """``value`` as a float in range, or a ConfigError that never echoes a key."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(name, f"must be a number, got {shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or abs(number) > MAX_NUMBER:
        raise ConfigError(name, f"must be finite and at most {MAX_NUMBER:g} in size")
    return number


def _finite(lo: float | None = None, *, strict: bool = False, hi: float | None = None) -> Any:
    def check(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
        number = _number(attribute.name, value)
        if lo is not None and (number <= lo if strict else number < lo):
            op = ">" if strict else ">="
            raise ConfigError(attribute.name, f"must be {op} {lo}, got {number:g}")
        if hi is not None and number > hi:
            raise ConfigError(attribute.name, f"must be <= {hi}, got {number:g}")

    return check


def _holdings(
    instance: object, attribute: attrs.Attribute[Any], value: Mapping[str, float]
) -> None:
    for pool, amount in value.items():
        if _number(f"{attribute.name}.{pool}", amount) < 0:
            raise ConfigError(f"{attribute.name}.{pool}", f"must be >= 0, got {amount:g}")


def _offsets(instance: object, attribute: attrs.Attribute[Any], value: Mapping[str, float]) -> None:
    for sym, amount in value.items():
        _number(f"{attribute.name}.{sym}", amount)


def _static_pools(
    instance: object, attribute: attrs.Attribute[Any], value: Mapping[str, Mapping[str, float]]
) -> None:
    for pool, comp in value.items():
        if not comp:
            raise ConfigError(f"{attribute.name}.{pool}", "needs at least one SYMBOL = per_token")
        for sym, amount in comp.items():
            if _number(f"{attribute.name}.{pool}.{sym}", amount) < 0:
                raise ConfigError(f"{attribute.name}.{pool}.{sym}", "must be >= 0")


def _symbol(name: str, key: object) -> str:
    if not isinstance(key, str):
        raise ConfigError(name, f"keys must be names, got {shown(key)}")
    try:
        return normalise_symbol(key)
    except InvalidInputError:
        raise ConfigError(name, f"not a symbol name: {shown(key)}") from None


def _table(name: str, value: object) -> dict[str, object]:
    """A TOML table of ``NAME = number`` with its keys normalised (values checked later)."""
    if not isinstance(value, Mapping):
        raise ConfigError(name, "must be a table of NAME = number")
    return {_symbol(name, k): v for k, v in value.items()}


def _upper_keys(value: Mapping[str, float]) -> dict[str, float]:
    return {_symbol("symbol", k): v for k, v in value.items()}


def _pool_keys(value: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for pool, comp in value.items():
        name = _symbol("static_pools", pool)
        if not isinstance(comp, Mapping):
            raise ConfigError(f"static_pools.{name}", "must be a table of SYMBOL = per_token")
        out[name] = _upper_keys(comp)
    return out


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
    static_pools: Mapping[str, Mapping[str, float]] = attrs.field(
        factory=dict, converter=_pool_keys, validator=_static_pools
    )
    """Fixed compositions (per LP token) used instead of the on-chain pool reads,
    e.g. ``static_pools = {JLP = {SOL = 0.02, ETH = 0.0004}}``: paper runs offline."""

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
    # One file for both (the default) is one SQLite journal: a cycle is one
    # durable write. Two paths keep a separate state store and audit log.
    state_path: str = "xlp.sqlite"
    audit_path: str = "xlp.sqlite"
    # The journal fsyncs an idle cycle's commit on a thread right after the
    # cycle ("background") or before the cycle returns ("inline"); orders'
    # records are always fsynced before anything is sent (docs/safety.md).
    journal_idle_fsync: IdleFsync = "background"
    rpc_url: str = "https://api.mainnet-beta.solana.com"
    lighter_base_url: str = "https://mainnet.zklighter.elliot.ai"
    lighter_chain_id: int = 304

    def __attrs_post_init__(self) -> None:
        if self.mode not in ("paper", "live"):
            raise ConfigError("mode", f"must be 'paper' or 'live', got {shown(self.mode)}")
        if self.exchange not in ("paper", "lighter"):
            raise ConfigError(
                "exchange", f"must be 'paper' or 'lighter', got {shown(self.exchange)}"
            )
        if self.exchange != "paper" and self.mode != "live":
            raise ConfigError(
                "mode", f"exchange {shown(self.exchange)} trades real money: set mode = 'live'"
            )
        check_idle_fsync(self.journal_idle_fsync, "journal_idle_fsync")
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
        """Build from a plain mapping (a parsed TOML table); unknown keys are errors.

        Every malformed value is a :class:`ConfigError` naming the field; the
        value itself is shown only when it cannot be a secret.
        """
        if not isinstance(data, Mapping):
            raise ConfigError("config", "must be a table of settings")
        fields = {f.name: f for f in attrs.fields(cls)}
        for key in data:
            if not isinstance(key, str) or key not in fields:
                known = ", ".join(sorted(fields))
                name = key if isinstance(key, str) and not looks_secret(key) else shown(key)
                raise ConfigError(name[:60], f"unknown setting (known: {known})")
        kwargs = {k: _coerce(fields[k], v) for k, v in data.items()}
        try:
            return cls(**kwargs)
        except (TypeError, ValueError, OverflowError, AttributeError) as exc:
            if isinstance(exc, ConfigError | InvalidInputError):
                raise
            # attrs could not take the value; the message may hold it, so drop it.
            raise ConfigError("config", f"invalid settings ({type(exc).__name__})") from None

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> HedgeConfig:
        """TOML file (optional; keys at top level or under ``[hedge]``) then ``XLP_*`` env."""
        return load_with_sources(path, environ)[0]


def _coerce(f: attrs.Attribute[Any], value: object) -> Any:
    """Check a raw value's type against the field's; tables and lists normalised."""
    name, default = f.name, f.default
    if name in ("symbols", "notify_urls"):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(name, "must be a list of strings")
        return tuple(_symbol(name, s) for s in value) if name == "symbols" else tuple(value)
    if name in ("pools", "initial_offsets"):
        table = _table(name, value)
        return {k.upper(): v for k, v in table.items()} if name == "pools" else table
    if name == "static_pools":
        if not isinstance(value, Mapping):
            raise ConfigError(name, "must be a table of POOL = {SYMBOL = per_token}")
        return _pool_keys(value)
    if isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(name, f"must be a string, got {shown(value)}")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(name, f"must be true or false, got {shown(value)}")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(name, f"must be an integer, got {shown(value)}")
        _number(name, value)
    elif isinstance(default, float):
        _number(name, value)
    return value


def _read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The settings table of a TOML file (top level or ``[hedge]``)."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError("config", f"file not found: {p}") from None
    except IsADirectoryError:
        raise ConfigError("config", f"{p}: is a directory, not a TOML file") from None
    except OSError as exc:
        raise ConfigError("config", f"{p}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError("config", f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message names a position, never the offending text.
        raise ConfigError("config", f"{p}: invalid TOML: {exc}") from None
    table = raw.get("hedge", raw)
    if not isinstance(table, dict):
        raise ConfigError("hedge", f"{p}: [hedge] must be a table of settings")
    return table


def load_with_sources(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[HedgeConfig, dict[str, Source]]:
    """The config and, per field, where its value came from (``xlp config`` prints it)."""
    data: dict[str, Any] = {}
    sources: dict[str, Source] = {f.name: "default" for f in attrs.fields(HedgeConfig)}
    if path is not None:
        data.update(_read_toml(path))
        sources.update(dict.fromkeys((k for k in data if k in sources), "file"))
    env = env_overrides(os.environ if environ is None else environ)
    data.update(env)
    sources.update(dict.fromkeys(env, "env"))
    return HedgeConfig.from_mapping(data), sources


_BOOL = {
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off"), False),
}


def _float(text: str) -> float | None:
    """``float(text)`` or None, outside any ``except`` so no error chain keeps the text."""
    try:
        return float(text)
    except ValueError:
        return None


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:  # also the digit-count limit of huge integers
        return None


def _parse_pairs(name: str, text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(name, f"expected NAME=NUMBER pairs, got {shown(part)}")
        number = _float(value)
        if number is None:
            raise ConfigError(name, f"not a number: {shown(value.strip())}")
        out[_symbol(name, key)] = number
    return out


def _parse_pools(name: str, text: str) -> dict[str, dict[str, float]]:
    """``POOL:SYM=X,SYM=Y;POOL2:...`` (the ``--static-pool`` syntax, ``;`` between pools)."""
    out: dict[str, dict[str, float]] = {}
    for spec in filter(None, (p.strip() for p in text.split(";"))):
        pool, sep, rest = spec.partition(":")
        if not sep or not pool.strip():
            raise ConfigError(name, f"expected POOL:SYMBOL=NUMBER[,...], got {shown(spec)}")
        comp = _parse_pairs(f"{name}.{pool.strip().upper()}", rest)
        if not comp:
            raise ConfigError(name, f"pool {shown(pool.strip())} has no SYMBOL=NUMBER pairs")
        out[pool.strip().upper()] = comp
    return out


def _env_value(f: attrs.Attribute[Any], text: str) -> object:
    if f.name in ("pools", "initial_offsets"):
        return _parse_pairs(f.name, text)
    if f.name == "static_pools":
        return _parse_pools(f.name, text)
    if f.name == "symbols":
        return [s.strip() for s in text.split(",") if s.strip()]
    if f.name == "notify_urls":
        return [u.strip() for u in text.split() if u.strip()]
    if isinstance(f.default, bool):
        if text.lower() not in _BOOL:
            raise ConfigError(f.name, f"not a boolean: {shown(text)}")
        return _BOOL[text.lower()]
    if isinstance(f.default, int | float):
        number = _int(text) if isinstance(f.default, int) else _float(text)
        if number is None:
            kind = "an integer" if isinstance(f.default, int) else "a number"
            raise ConfigError(f.name, f"not {kind}: {shown(text)}")
        return number
    return text


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings from ``XLP_<FIELD>`` variables, converted to the field's type.

    Maps are ``NAME=NUMBER`` comma lists (``XLP_POOLS=JLP=1200,ALP=0``);
    ``XLP_STATIC_POOLS=JLP:SOL=0.02,ETH=0.0004;ALP:...``. Variables that are
    not settings are either in :data:`NON_SETTING_ENV` (credentials read by
    the adapters, never here) or an error: a misspelt name must not be ignored.
    """
    fields = {ENV_PREFIX + f.name.upper(): f for f in attrs.fields(HedgeConfig)}
    unknown = sorted(
        k for k in environ if k.startswith(ENV_PREFIX) and k not in fields
        and k not in NON_SETTING_ENV
    )  # fmt: skip
    if unknown:
        raise ConfigError(unknown[0], "unknown environment variable (not a setting)")
    out: dict[str, Any] = {}
    for key, f in fields.items():
        if key in environ:
            out[f.name] = _env_value(f, environ[key].strip())
    return out
