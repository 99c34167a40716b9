"""A registry of plug-in classes found by module: the shape of the model zoo and the detectors.

A package keeps one ``Registry``; each module in it decorates its class with ``register``.
Modules are imported on the first lookup (not at package import), so a process that needs
one kind never imports the frameworks of the others.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """Classes by name, discovered from the modules of one package (``base`` and ``_*`` skipped)."""

    def __init__(self, package: str, path: Iterable[str], *, what: str, key: Callable[[T], str],
                 error: Callable[[str], Exception]) -> None:
        self._package = package
        self._path = list(path)
        self._what = what
        self._key = key
        self._error = error
        self._classes: dict[str, T] = {}
        self._discovered = False

    def register(self, cls: T) -> T:
        """Class decorator: make ``cls`` available under its name."""
        self._classes[self._key(cls)] = cls
        return cls

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._discover()
        return sorted(self._classes)

    def get(self, name: str) -> T:
        """The class registered as ``name``; the package's error naming the known ones otherwise."""
        self._discover()
        try:
            return self._classes[name]
        except KeyError:
            known = ", ".join(sorted(self._classes))
            raise self._error(f"unknown {self._what} {name!r} (known: {known})") from None

    def _discover(self) -> None:
        if self._discovered:
            return
        for info in pkgutil.iter_modules(self._path):
            if info.name != "base" and not info.name.startswith("_"):
                importlib.import_module(f"{self._package}.{info.name}")
        self._discovered = True
