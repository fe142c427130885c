"""Lighter API credentials: validated at start-up, never shown."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import attrs

from xlp_core.errors import ConfigError

ENV_KEY = "XLP_LIGHTER_PRIVATE_KEY"
ENV_ACCOUNT = "XLP_LIGHTER_ACCOUNT_INDEX"
ENV_API_KEY_INDEX = "XLP_LIGHTER_API_KEY_INDEX"
_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{80}$")


@attrs.frozen(repr=False)
class LighterCredentials:
    """``private_key`` is the API key (40 bytes hex), not an L1 wallet key.

    ``repr``/``str`` show only the indices, so the key cannot leak through a
    log line, an exception or a debugger print of a config object.
    """

    private_key: str = attrs.field(repr=False)
    account_index: int
    api_key_index: int

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.private_key, str) or not _KEY.match(self.private_key):
            # Never echo the value: it may be a real key with a typo.
            raise ConfigError("lighter_private_key", "must be 80 hex characters (optional 0x)")
        if isinstance(self.account_index, bool) or not isinstance(self.account_index, int):
            raise ConfigError("lighter_account_index", "must be an integer")
        if self.account_index < 0:
            raise ConfigError("lighter_account_index", "must be >= 0")
        if (
            isinstance(self.api_key_index, bool)
            or not isinstance(self.api_key_index, int)
            or not 3 <= self.api_key_index <= 254
        ):
            raise ConfigError(
                "lighter_api_key_index",
                "must be 3-254: indices 0, 1 and 2 belong to Lighter's own desktop, "
                "mobile web and mobile apps (create your own key, e.g. index 3)",
            )

    def __repr__(self) -> str:
        return (
            f"LighterCredentials(account_index={self.account_index}, "
            f"api_key_index={self.api_key_index}, private_key=<hidden>)"
        )

    __str__ = __repr__

    @property
    def key_hex(self) -> str:
        return self.private_key.removeprefix("0x")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LighterCredentials:
        env = os.environ if environ is None else environ
        missing = [k for k in (ENV_KEY, ENV_ACCOUNT, ENV_API_KEY_INDEX) if not env.get(k)]
        if missing:
            raise ConfigError(missing[0], "not set (needed for live trading on Lighter)")
        out: dict[str, int] = {}
        for name, var in (("account_index", ENV_ACCOUNT), ("api_key_index", ENV_API_KEY_INDEX)):
            value = _int_or_none(env[var])
            if value is None:
                # Raised outside the except: no chained error carries the value
                # (a key pasted into the wrong variable) into a traceback.
                raise ConfigError(var, "must be an integer")
            out[name] = value
        return cls(env[ENV_KEY].strip(), out["account_index"], out["api_key_index"])


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
