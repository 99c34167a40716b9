"""A registry of plug-in classes found by entry point: the model zoo, detectors, tasks, policies.

Every registry reads one entry-point group (``harmone.models``, ``harmone.detectors``,
``harmone.tasks``, ``harmone.policies``). The built-ins register through the same groups, in
HarmonE's own ``pyproject.toml``, so a plugin package is found exactly as they are, and nothing
is loaded from anywhere but an installed distribution (never from a workspace).

Names come from the installed metadata without importing anything; an entry point is loaded
on the first lookup of its name (or when every class is asked for), so a process that serves
a linear model never imports the frameworks of the others. A plugin that fails to load is one
warning line naming its package, and the rest works; two packages claiming one name is an
error naming both.

When HarmonE's own metadata declares nothing for a group (it runs from a source tree that
was never installed, or from an install made before the group existed), the package's
modules are imported instead, as before entry points, so the built-ins are never missing.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Generic, TypeVar

T = TypeVar("T")

logger = logging.getLogger("harmone.plugins")

#: The distribution whose entry points are the built-ins.
BUILTIN_DIST = "harmone"


@dataclass(frozen=True)
class Plugin:
    """One name of one group, and the installed package that provides it."""

    name: str
    group: str
    #: Distribution name and version (``harmone`` for the built-ins; empty when registered in code).
    package: str
    version: str
    #: ``module:attribute`` the entry point names.
    value: str

    @property
    def builtin(self) -> bool:
        return self.package == BUILTIN_DIST


class Registry(Generic[T]):
    """Classes by name: the entry points of ``group``, plus any registered in code by ``register``."""

    def __init__(self, group: str, package: str, path: Iterable[str], *, what: str, key: Callable[[T], str],
                 error: Callable[[str], Exception]) -> None:
        self.group = group
        self._package = package
        self._path = list(path)
        self._what = what
        self._key = key
        self._error = error
        self._classes: dict[str, T] = {}
        self._entry_points: dict[str, metadata.EntryPoint] | None = None
        self._broken: set[str] = set()

    def register(self, cls: T) -> T:
        """Class decorator: make ``cls`` available under its name (the built-ins' modules, tests)."""
        self._classes[self._key(cls)] = cls
        return cls

    def names(self) -> list[str]:
        """Every name, sorted; cheap (no plugin is imported). Names that failed to load are left out."""
        return sorted((set(self._points()) | set(self._classes)) - self._broken)

    def get(self, name: str) -> T:
        """The class registered as ``name``; the package's error naming the known ones otherwise."""
        if name not in self._classes and name in self._points() and name not in self._broken:
            self._load(name)
        try:
            return self._classes[name]
        except KeyError:
            raise self._error(f"unknown {self._what} {name!r} (known: {', '.join(self.names())})") from None

    def classes(self) -> dict[str, T]:
        """Every class that loads, by name (a plugin that fails is a warning and left out)."""
        for name in self.names():
            if name not in self._classes:
                self._load(name)
        return {name: self._classes[name] for name in self.names()}

    def plugins(self) -> list[Plugin]:
        """What provides each name, by group and name (those registered in code have no package)."""
        out = []
        for name in self.names():
            point = self._points().get(name)
            dist = point.dist if point is not None else None
            out.append(Plugin(name=name, group=self.group, package=dist.name if dist else "",
                              version=dist.version if dist else "", value=point.value if point else ""))
        return out

    def _points(self) -> dict[str, metadata.EntryPoint]:
        if self._entry_points is None:
            self._entry_points = self._read_points()
        return self._entry_points

    def _read_points(self) -> dict[str, metadata.EntryPoint]:
        points: dict[str, metadata.EntryPoint] = {}
        for point in metadata.entry_points(group=self.group):
            seen = points.get(point.name)
            if seen is not None and _dist_name(seen) != _dist_name(point):
                raise self._error(f"{self._what} {point.name!r} is claimed by two packages: {_dist_name(seen)!r} "
                                  f"({seen.value}) and {_dist_name(point)!r} ({point.value}); uninstall one")
            points[point.name] = point
        if not any(_dist_name(point) == BUILTIN_DIST for point in points.values()):
            self._import_modules()
        return points

    def _import_modules(self) -> None:
        """The built-ins without metadata: import the package's modules (``base`` and ``_*`` skipped)."""
        for info in pkgutil.iter_modules(self._path):
            if info.name != "base" and not info.name.startswith("_"):
                importlib.import_module(f"{self._package}.{info.name}")

    def _load(self, name: str) -> None:
        point = self._points()[name]
        try:
            cls = point.load()
            loaded = self._key(cls)
            if loaded != name:
                raise ValueError(f"{point.value} is registered as {loaded!r}, not {name!r}")
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the rest
            self._broken.add(name)
            detail = " ".join(str(exc).split()) or "no detail"
            logger.warning("harmone: warning: plugin package %r failed to load %s %r from %s "
                           "(%s: %s); continuing without it", _dist_name(point), self.group, name, point.value,
                           type(exc).__name__, detail)
            return
        self._classes[name] = cls


def _dist_name(point: metadata.EntryPoint) -> str:
    dist = point.dist
    return dist.name if dist is not None else "?"
