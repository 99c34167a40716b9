"""One energy basis for the switch score: calibrated costs corrected by how live serving compares.

Calibration measures each kind's own work per prediction under serving-like conditions
(docs/energy.md, "One energy basis"), but how cold a live prediction runs depends on the
stream's wait, the machine and its load. So the switch loop scales the calibrated range by
the ratio of live to calibrated model energy over the newest rows (``[energy]
correction_rows``), pooled over the kinds that served them: the kinds keep the relative
costs calibration measured, on the scale live serving shows. A kind that costs more than
the others live, relative to calibration, still shows as costlier; a change of conditions
that affects every kind alike does not push them all over budget.

Pure functions over per-kind sums; the switch loop keeps the window of sums.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

#: Per model kind: (rows, model energy µJ summed over those rows).
KindSums = Mapping[str, tuple[int, float]]


@dataclass(frozen=True)
class EnergyCorrection:
    """Live over calibrated model energy on the newest rows, and the range it gives."""

    factor: float
    rows: int
    e_min_uj: float
    e_max_uj: float

    def to_record(self) -> dict[str, float | int]:
        return {"factor": self.factor, "rows": self.rows, "e_max_uj": self.e_max_uj}


def kind_sums(models: np.ndarray, energy_uj: np.ndarray) -> dict[str, tuple[int, float]]:
    """Rows and summed energy per kind over one batch (non-finite energies left out)."""
    usable = np.isfinite(energy_uj)
    out: dict[str, tuple[int, float]] = {}
    for kind in np.unique(models[usable]):
        rows = usable & (models == kind)
        out[str(kind)] = (int(np.count_nonzero(rows)), float(np.sum(energy_uj[rows])))
    return out


def correct(sums: KindSums, calibrated_uj: Mapping[str, float], e_min_uj: float,
            e_max_uj: float) -> EnergyCorrection | None:
    """The range scaled by live over calibrated energy of ``sums``; None without a usable basis."""
    rows = expected_uj = live_uj = 0.0
    for kind, (n, energy_uj) in sums.items():
        cost_uj = calibrated_uj.get(kind)
        if cost_uj is None or not cost_uj > 0 or n <= 0:
            continue
        rows += n
        expected_uj += n * cost_uj
        live_uj += energy_uj
    if not rows or not (live_uj > 0 and math.isfinite(live_uj)):
        return None
    factor = live_uj / expected_uj
    return EnergyCorrection(factor=factor, rows=int(rows), e_min_uj=e_min_uj * factor, e_max_uj=e_max_uj * factor)


class SumsWindow:
    """Per-kind sums of the newest batches, at least ``rows`` rows when that many were seen."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self._batches: deque[tuple[int, dict[str, tuple[int, float]]]] = deque()
        self._total = 0

    def update(self, batch: KindSums) -> SumsWindow:
        n = sum(rows for rows, _ in batch.values())
        if n:
            self._batches.append((n, dict(batch)))
            self._total += n
            while self._total - self._batches[0][0] >= self.rows:
                self._total -= self._batches.popleft()[0]
        return self

    def get(self) -> dict[str, tuple[int, float]]:
        out: dict[str, tuple[int, float]] = {}
        for _, batch in self._batches:
            for kind, (n, energy_uj) in batch.items():
                rows, total = out.get(kind, (0, 0.0))
                out[kind] = (rows + n, total + energy_uj)
        return out
