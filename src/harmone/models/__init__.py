"""The model zoo: each kind is one module in this package that registers itself by name.

Adding a kind means adding one module with a ``Model`` subclass and its entry point in the
``harmone.models`` group (HarmonE's ``pyproject.toml`` for a built-in, a plugin package's own
for any other; docs/plugins.md); ``kinds()`` finds it. Modules must not import heavy frameworks at import time (the
inference process serves linear models without ever importing torch).
"""

from __future__ import annotations

from harmone.errors import ModelError
from harmone.models.base import Model
from harmone.registry import Registry

#: The model kinds of the published HarmonE, in its order: what the published mode serves,
#: and whose baselines make the nine published approaches.
PUBLISHED_KINDS: tuple[str, ...] = ("lstm", "svm", "linear")

_KINDS: Registry[type[Model]] = Registry("harmone.models", __name__, __path__, what="model kind",
                                         key=lambda cls: cls.kind, error=ModelError)
#: Class decorator: make a model kind available under ``cls.kind``.
register = _KINDS.register


def kinds() -> list[str]:
    """Names of all model kinds that load, sorted (a plugin that fails to load is a warning, and left out)."""
    return list(_KINDS.classes())


#: The class of a model kind; ``ModelError`` naming the known kinds for an unknown one.
model_class = _KINDS.get


def kinds_for(task: str) -> list[str]:
    """Names of the registered kinds that learn ``task``'s records (``Model.task``), sorted."""
    return [kind for kind in kinds() if model_class(kind).task == task]


def check_kind(name: object) -> str:
    """``name`` when it is a registered model kind, else a ``ModelError`` naming the known kinds.

    Every name that becomes part of a path (``versionedMR/<kind>``, ``models/<kind>``) passes
    here first, so no name can lead outside the workspace, whoever sends it.
    """
    if not isinstance(name, str) or name not in kinds():
        raise ModelError(f"unknown model kind {str(name)[:80]!r} (known: {', '.join(kinds())})")
    return name


def naive_kind() -> str:
    """The kind a batch is judged against: the one registered kind that declares ``naive_bar``."""
    bars = [kind for kind in kinds() if model_class(kind).naive_bar]
    if len(bars) != 1:
        raise ModelError(f"exactly one model kind must be the naive bar, found {len(bars)} ({', '.join(bars)})")
    return bars[0]


def published_models(models: dict[str, dict]) -> dict[str, dict]:
    """``[models]`` overrides with every kind's published representation and hyperparameters on top."""
    out = {kind: dict(table) for kind, table in models.items()}
    for kind in kinds():
        published = model_class(kind).published_params
        if published:
            out[kind] = {**out.get(kind, {}), **published}
    return out


__all__ = ["Model", "PUBLISHED_KINDS", "check_kind", "kinds", "kinds_for", "model_class", "naive_kind", "published_models",
           "register"]
