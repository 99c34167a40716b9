"""Every plug-in group HarmonE reads, and what is installed in each: ``harmone plugins``, the dashboard.

A group is one ``Registry`` (``harmone.registry``); the built-ins and any installed plugin
package appear alike, each with the package and version that provides it. Nothing here can
add a plugin: installing a package (``pip install``) is the only way one arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harmone.registry import Plugin, Registry


def _registries() -> dict[str, Callable[[], Registry[Any]]]:
    # Imported on use: listing plugins is the only reason to touch every package at once.
    def tasks() -> Registry[Any]:
        from harmone.tasks import _TASKS
        return _TASKS

    def models() -> Registry[Any]:
        from harmone.models import _KINDS
        return _KINDS

    def detectors() -> Registry[Any]:
        from harmone.detectors import _DETECTORS
        return _DETECTORS

    def policies() -> Registry[Any]:
        from harmone.policies import _POLICIES
        return _POLICIES

    def meters() -> Registry[Any]:
        from harmone.energy.meters import _METERS
        return _METERS

    return {"harmone.tasks": tasks, "harmone.models": models, "harmone.detectors": detectors,
            "harmone.meters": meters, "harmone.policies": policies}


#: The entry-point groups, in listing order.
GROUPS: tuple[str, ...] = tuple(_registries())


def installed() -> list[Plugin]:
    """Every name that loads, by group then name (a package that fails is a warning and left out)."""
    out: list[Plugin] = []
    for registry in (make() for make in _registries().values()):
        registry.classes()
        out.extend(registry.plugins())
    return out


def to_record(plugin: Plugin) -> dict[str, Any]:
    """Plain values for ``--json`` and the dashboard."""
    return {"name": plugin.name, "group": plugin.group, "package": plugin.package, "version": plugin.version,
            "value": plugin.value, "builtin": plugin.builtin}
