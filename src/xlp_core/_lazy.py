"""Lazy package attributes (PEP 562): a flat public API that imports nothing up front.

``import xlp_core`` only reads a table; a name's module is imported the first
time the name is used, and cached in the package namespace after that.
"""

from __future__ import annotations

import importlib
import sys
import types

from xlp_core.errors import MissingExtraError

TYPE_CHECKING = False  # typing itself is not imported at run time: it costs milliseconds
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any


def attach(
    package: str,
    namespace: dict[str, Any],
    table: Mapping[str, str],
    *,
    extras: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``; ``table`` maps a name to its module.

    ``extras`` maps a module to the pip extra it needs: a missing third-party
    dependency then raises :class:`MissingExtraError` (``pip install
    'xlp-core[extra]'``) instead of a bare ``ModuleNotFoundError``.
    """
    extras = extras or {}
    sys.modules[package].__class__ = _Package

    def __getattr__(name: str) -> Any:
        module_name = table.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = (exc.name or "").partition(".")[0]
            if missing in ("xlp_core", "xlp_adapters"):
                raise AttributeError(
                    f"{package}.{name} is not available in this version ({module_name} missing)"
                ) from None
            raise MissingExtraError(extras.get(module_name, "all"), f"{package}.{name}") from None
        value = getattr(module, name)
        namespace[name] = value  # next time, no __getattr__ call at all
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__


class _Package(types.ModuleType):
    """A package whose public names win over same-named submodules.

    Importing ``xlp_core.reconcile`` (the module) would otherwise overwrite
    ``xlp_core.reconcile`` (the public function) in the package namespace;
    ``from xlp_core.reconcile import ...`` keeps working (it reads
    ``sys.modules``).
    """

    def __setattr__(self, name: str, value: object) -> None:
        exports = self.__dict__.get("_EXPORTS", {})
        if name in exports and isinstance(value, types.ModuleType):
            return  # the import system binding the submodule: keep the public name
        super().__setattr__(name, value)


def package_version(distribution: str) -> str:
    """The installed version (``importlib.metadata`` costs ~10 ms: only on demand)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"
