"""Policies: the switch loop's Plan, and the loops beside it; each is one module plus its entry point.

A policy is found in the ``harmone.policies`` entry-point group (HarmonE's own ``pyproject.toml``
for the built-ins, a plugin package's for any other; docs/plugins.md) and runs as the approach
of its name. The published approaches are policies too (``harmone.policies.published``).
"""

from __future__ import annotations

from functools import cache

from harmone.errors import ConfigError
from harmone.registry import Registry

_POLICIES: Registry = Registry("harmone.policies", __name__, __path__, what="policy", key=lambda cls: cls.name,
                               error=ConfigError)
#: Class decorator: make a policy available under ``cls.name``.
register = _POLICIES.register
#: The published adaptive approaches' policies, in the published order (what ``all`` compares).
PUBLISHED: tuple[str, ...] = ("harmone", "switch", "switch+retrain")
#: The policy of the single-model baselines.
FIXED = "fixed"


def names() -> list[str]:
    """Names of all policies that load, sorted (a plugin that fails to load is a warning, and left out)."""
    return list(_POLICIES.classes())


def policy_class(name: str) -> type:
    """The class of policy ``name``; ``ConfigError`` naming the known ones otherwise."""
    return _POLICIES.get(name)


@cache
def get(name: str):  # -> Policy (imported lazily: the base imports the loops' modules)
    """The policy registered as ``name`` (one shared instance: its state lives in the loop)."""
    return _POLICIES.get(name)()


__all__ = ["FIXED", "PUBLISHED", "get", "names", "policy_class", "register"]
