"""The model zoo: each kind is one module in this package that registers itself by name.

Adding a kind means adding one module with a ``Model`` subclass decorated by ``register``;
``kinds()`` discovers it. Modules must not import heavy frameworks at import time (the
inference process serves linear models without ever importing torch).
"""

from __future__ import annotations

import importlib
import pkgutil

from harmone.errors import ModelError
from harmone.models.base import Model

_REGISTRY: dict[str, type[Model]] = {}
_discovered = False


def register(cls: type[Model]) -> type[Model]:
    """Class decorator: make a model kind available under ``cls.kind``."""
    _REGISTRY[cls.kind] = cls
    return cls


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    _discovered = True


def kinds() -> list[str]:
    """Names of all registered model kinds, sorted."""
    _discover()
    return sorted(_REGISTRY)


def model_class(kind: str) -> type[Model]:
    _discover()
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise ModelError(f"unknown model kind {kind!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def published_models(models: dict[str, dict]) -> dict[str, dict]:
    """``[models]`` overrides with every kind's published representation and hyperparameters on top."""
    out = {kind: dict(table) for kind, table in models.items()}
    for kind in kinds():
        published = _REGISTRY[kind].published_params
        if published:
            out[kind] = {**out.get(kind, {}), **published}
    return out


__all__ = ["Model", "kinds", "model_class", "published_models", "register"]
