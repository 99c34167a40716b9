"""The meter contract: a cumulative energy counter in microjoules, honest about its origin.

Every meter says whether it *measures* (hardware counters) or *estimates* (a model of
power), where its numbers come from, and how coarse they are. Consumers take differences
of ``read_uj()``; the ``window`` helper does that around a region of code.

A meter that *models* costs (``harmone.energy.model.ModelMeter``) sees no work happen: it
must be told what was done. ``ModelledCosts`` is that seam: the inference engine and the
managing loops take one at construction and report each prediction and each run to it,
inside the very windows they read the meter around.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Protocol, Self

MeterKind = Literal["measured", "estimated"]


@dataclass(frozen=True)
class Measurement:
    """Energy spent over one window, with where the number came from."""

    energy_uj: float
    duration_s: float
    kind: MeterKind
    source: str


class EnergyMeter(ABC):
    """A cumulative counter: ``read_uj`` never decreases; differences are energy spent."""

    #: "measured" for hardware counters, "estimated" for anything modelled.
    kind: MeterKind
    #: Short name of the backend, shown in reports (e.g. "rapl:package-0", "cpu-time-estimate").
    source: str
    #: Smallest energy step the counter can show, µJ.
    resolution_uj: float
    #: How often the counter advances, seconds; 0 for a counter that moves continuously.
    #: A window much shorter than this mostly reads 0 (see docs/energy.md, granularity).
    update_interval_s: float = 0.0
    @abstractmethod
    def read_uj(self) -> float:
        """Energy consumed since an arbitrary origin, µJ."""

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "source": self.source, "resolution_uj": self.resolution_uj}

    def close(self) -> None:
        """Release what the meter holds open (file descriptors, driver handles); idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class ModelledCosts(Protocol):
    """Told of the work the engine and the loops do, inside the windows they meter.

    ``charge_prediction`` is called once per prediction, between the two readings of the
    prediction's model-energy region (``InferenceEngine.step``), so its charge lands in the
    model's own energy, never in the serving overhead. ``charge_run`` is called after every
    loop run, inside the run's ``window``, with the rows the run read from the knowledge
    base. Charging the meter there keeps the accounting (energy per logged row, per event)
    the same code as with a measured meter; only the counter's source differs.
    """

    def charge_prediction(self, kind: str) -> None:
        """One prediction of model kind ``kind`` was made."""

    def charge_run(self, loop: str, rows_read: int) -> None:
        """One run of ``loop`` finished, having read ``rows_read`` rows."""


class WindowHandle:
    """Filled in when the ``window`` block ends."""

    measurement: Measurement | None = None

    @property
    def energy_uj(self) -> float:
        return self.measurement.energy_uj if self.measurement else 0.0


@contextmanager
def window(meter: EnergyMeter) -> Iterator[WindowHandle]:
    """Measure the energy of the enclosed block: ``with window(m) as w: ...; w.energy_uj``."""
    handle = WindowHandle()
    start_uj = meter.read_uj()
    start_s = time.perf_counter()
    try:
        yield handle
    finally:
        handle.measurement = Measurement(
            energy_uj=max(0.0, meter.read_uj() - start_uj),
            duration_s=time.perf_counter() - start_s,
            kind=meter.kind,
            source=meter.source,
        )
