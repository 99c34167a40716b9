"""Drift detectors: each is one module in this package that registers itself by name.

Adding a detector means adding one module with a ``DriftDetector`` subclass and its entry
point in the ``harmone.detectors`` group (docs/plugins.md); ``names()`` finds it, and config selects it by its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harmone.detectors.base import DetectorError, DriftDetector
from harmone.registry import Registry

_DETECTORS: Registry[type[DriftDetector]] = Registry("harmone.detectors", __name__, __path__, what="detector",
                                                     key=lambda cls: cls.name, error=DetectorError)
#: Class decorator: make a detector available under ``cls.name``.
register = _DETECTORS.register


def names() -> list[str]:
    """Names of all detectors that load, sorted (a plugin that fails to load is a warning, and left out)."""
    return list(_DETECTORS.classes())


#: The detector registered as a name; ``DetectorError`` (a ``ValueError``) for an unknown one.
detector_class = _DETECTORS.get


def check_settings(name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The full settings of ``name`` (defaults, then ``params``), validated; raises ``DetectorError``."""
    cls = detector_class(name)
    params = dict(params or {})
    cls.check_params(params)
    return {**cls.default_params, **params}


def make(name: str, params: Mapping[str, Any] | None = None) -> DriftDetector:
    """A fresh detector ``name`` with its defaults overridden by ``params`` (validated first)."""
    return detector_class(name)(**check_settings(name, params))


__all__ = ["DetectorError", "DriftDetector", "check_settings", "detector_class", "make", "names", "register"]
