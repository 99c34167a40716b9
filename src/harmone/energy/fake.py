"""Deterministic meters for tests and simulated runs (``energy.meter = "fake"``)."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

from harmone.energy.base import EnergyMeter, MeterKind

_KINDS = ("measured", "estimated")


def _check_kind(kind: str) -> None:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")


class FakeMeter(EnergyMeter):
    """A counter that moves only when told to (``advance``); never by itself.

    Labelled "estimated" by default: a fake number must never pass for a measurement.
    """

    def __init__(self, *, kind: MeterKind = "estimated", source: str = "fake",
                 resolution_uj: float = 0.0) -> None:
        _check_kind(kind)
        self.kind = kind
        self.source = source
        self.resolution_uj = resolution_uj
        self._total_uj = 0.0
        self._lock = threading.Lock()

    def advance(self, energy_uj: float) -> None:
        """Count ``energy_uj`` more (a counter never goes back, so it must be >= 0)."""
        if not (energy_uj >= 0 and math.isfinite(energy_uj)):
            raise ValueError(f"energy_uj must be a finite number >= 0, got {energy_uj!r}")
        with self._lock:
            self._total_uj += energy_uj

    def read_uj(self) -> float:
        return self._total_uj


class ReplayMeter(EnergyMeter):
    """Returns recorded cumulative readings, one per ``read_uj``, in order."""

    def __init__(self, readings: Sequence[float], *, kind: MeterKind = "estimated",
                 source: str = "replay", resolution_uj: float = 0.0) -> None:
        _check_kind(kind)
        self.readings = tuple(float(r) for r in readings)
        self.kind = kind
        self.source = source
        self.resolution_uj = resolution_uj
        self._next = 0

    @property
    def remaining(self) -> int:
        return len(self.readings) - self._next

    def read_uj(self) -> float:
        if self._next >= len(self.readings):
            raise IndexError(f"replay meter {self.source!r} has no reading left "
                             f"(all {len(self.readings)} were used)")
        reading = self.readings[self._next]
        self._next += 1
        return reading
