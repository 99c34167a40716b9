"""Drift detectors: each is one module in this package that registers itself by name.

Adding a detector means adding one module with a ``DriftDetector`` subclass decorated by
``register``; ``names()`` discovers it, and config selects it by its name.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from harmone.detectors.base import DetectorError, DriftDetector

_REGISTRY: dict[str, type[DriftDetector]] = {}
_discovered = False


def register(cls: type[DriftDetector]) -> type[DriftDetector]:
    """Class decorator: make a detector available under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    _discovered = True


def names() -> list[str]:
    """Names of all registered detectors, sorted."""
    _discover()
    return sorted(_REGISTRY)


def detector_class(name: str) -> type[DriftDetector]:
    """The detector registered as ``name``; ``DetectorError`` (a ``ValueError``) for an unknown one."""
    _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise DetectorError(f"unknown detector {name!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def check_settings(name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The full settings of ``name`` (defaults, then ``params``), validated; raises ``DetectorError``."""
    cls = detector_class(name)
    params = dict(params or {})
    for key in params:
        if key not in cls.default_params:
            raise DetectorError(f"unknown key {key!r} (known: {', '.join(sorted(cls.default_params))})")
    settings = {**cls.default_params, **params}
    cls.check_params(settings)
    return settings


def make(name: str, params: Mapping[str, Any] | None = None) -> DriftDetector:
    """A fresh detector ``name`` with its defaults overridden by ``params`` (validated first)."""
    return detector_class(name)(**check_settings(name, params))


__all__ = ["DetectorError", "DriftDetector", "check_settings", "detector_class", "make", "names", "register"]
