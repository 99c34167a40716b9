"""The tasks: each is one module in this package that registers itself by name.

A workspace serves one task (``[stream] task``); every model kind says which task it learns
(``Model.task``). Adding a task means adding one module with a ``Task`` subclass, its entry point in the
``harmone.tasks`` group (docs/plugins.md), and its model kinds.
"""

from __future__ import annotations

from functools import cache

from harmone.errors import ConfigError
from harmone.registry import Registry
from harmone.tasks.base import Evaluation, Stream, Task

_TASKS: Registry[type[Task]] = Registry("harmone.tasks", __name__, __path__, what="task", key=lambda cls: cls.name,
                                        error=ConfigError)
#: Class decorator: make a task available under ``cls.name``.
register = _TASKS.register


def names() -> list[str]:
    """Names of all tasks that load, sorted (a plugin that fails to load is a warning, and left out)."""
    return list(_TASKS.classes())




@cache
def get(name: str) -> Task:
    """The task registered as ``name`` (one shared instance: tasks hold no state)."""
    return _TASKS.get(name)()


def of_kind(kind: str) -> Task:
    """The task a model kind learns."""
    from harmone.models import model_class

    return get(model_class(kind).task)


__all__ = ["Evaluation", "Stream", "Task", "get", "names", "of_kind", "register"]
