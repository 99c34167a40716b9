"""The meters a configuration can name: ``[energy] meter = "<name>"``, one entry point each.

A meter plugin is a class with a ``name`` and a ``create`` class method that builds the
meter for the configuration (``harmone.energy.base.EnergyMeter``); it registers in the
``harmone.meters`` entry-point group, as the built-ins (``rapl``, ``estimator``, ``fake``,
module ``builtin``) do. ``auto`` is not a meter but the choice among them that
``harmone.energy.detect`` makes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from harmone.errors import EnergyError
from harmone.registry import Registry

if TYPE_CHECKING:
    from harmone.config import EnergyConfig
    from harmone.energy.base import EnergyMeter


class MeterSource(Protocol):
    """What a meter plugin provides: its name, and how its meter is built."""

    name: ClassVar[str]

    @classmethod
    def create(cls, config: EnergyConfig, *, scope: str, sysfs_root: Path) -> EnergyMeter:
        """The meter for ``config``; ``scope`` ("thread" or "process") is what a software estimate
        covers, ``sysfs_root`` where hardware counters are read. ``EnergyError`` when unavailable."""
        ...


_METERS: Registry = Registry("harmone.meters", __name__, __path__, what="energy meter", key=lambda cls: cls.name,
                             error=EnergyError)
#: Class decorator: make a meter available under ``cls.name``.
register = _METERS.register
#: Names of every meter, sorted.
names = _METERS.names
#: The meter source registered as ``name``; ``EnergyError`` naming the known ones otherwise.
meter_source = _METERS.get

__all__ = ["MeterSource", "meter_source", "names", "register"]
