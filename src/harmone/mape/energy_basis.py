"""One energy basis for the switch score: live model energy put on the calibration's scale.

Calibration measures each kind's own work per prediction under serving-like conditions
(docs/energy.md, "One energy basis"), but how cold a live prediction runs depends on the
stream's wait, the machine and its load, and not alike for every kind: after a 150 ms wait
a Ridge prediction costs relatively more of an LSTM's than after 10 ms. So each kind's live
energy is divided by its own factor, live over calibrated model energy over its newest rows
(``[energy] correction_rows``); a kind not served yet takes the factor pooled over the kinds
that were. Over a kind's recent rows its normalised energy is then the calibrated one, and
a batch that costs more (or less) than the kind's recent rows shows as a higher (lower) e:
the comparison between kinds rests on calibration, an overrun on live measurement, and a
change of conditions that affects every kind does not push them all over budget.

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
    """Per kind, live over calibrated model energy on its newest rows, and the pooled factor."""

    by_kind: Mapping[str, float]
    #: Live over calibrated energy of all those rows: the factor of a kind not served yet.
    pooled: float
    rows: int

    def factor(self, kind: str) -> float:
        return self.by_kind.get(kind, self.pooled)

    def rescale(self, models: np.ndarray, energy_uj: np.ndarray) -> np.ndarray:
        """Each row's energy divided by its kind's factor: on the calibration's scale."""
        factors = np.ones(len(energy_uj))
        for kind in np.unique(models):
            factors[models == kind] = self.factor(str(kind))
        return energy_uj / factors

    def to_record(self) -> dict[str, object]:
        return {"factor": self.pooled, "rows": self.rows, "by_kind": dict(self.by_kind)}


def kind_sums(models: np.ndarray, energy_uj: np.ndarray) -> dict[str, tuple[int, float]]:
    """Rows and summed energy per kind over one batch (non-finite energies left out)."""
    usable = np.isfinite(energy_uj)
    out: dict[str, tuple[int, float]] = {}
    for kind in np.unique(models[usable]):
        rows = usable & (models == kind)
        out[str(kind)] = (int(np.count_nonzero(rows)), float(np.sum(energy_uj[rows])))
    return out


def correct(sums: KindSums, calibrated_uj: Mapping[str, float]) -> EnergyCorrection | None:
    """The factors of ``sums`` against ``calibrated_uj``; None without a usable basis."""
    by_kind: dict[str, float] = {}
    rows = 0
    expected_uj = live_uj = 0.0
    for kind, (n, energy_uj) in sorted(sums.items()):
        cost_uj = calibrated_uj.get(kind)
        if cost_uj is None or not cost_uj > 0 or n <= 0 or not (energy_uj > 0 and math.isfinite(energy_uj)):
            continue
        by_kind[kind] = energy_uj / (n * cost_uj)
        rows += n
        expected_uj += n * cost_uj
        live_uj += energy_uj
    if not by_kind:
        return None
    return EnergyCorrection(by_kind=by_kind, pooled=live_uj / expected_uj, rows=rows)


class SumsWindow:
    """Per kind, the sums of its newest batches covering at least ``rows`` of its rows.

    A kind that stops serving keeps its window: its last live factor stays its best estimate.
    """

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self._batches: dict[str, deque[tuple[int, float]]] = {}

    def update(self, batch: KindSums) -> SumsWindow:
        for kind, (n, energy_uj) in batch.items():
            if n <= 0:
                continue
            kept = self._batches.setdefault(kind, deque())
            kept.append((n, energy_uj))
            total = sum(rows for rows, _ in kept)
            while total - kept[0][0] >= self.rows:
                total -= kept.popleft()[0]
        return self

    def get(self) -> dict[str, tuple[int, float]]:
        return {kind: (sum(n for n, _ in kept), sum(uj for _, uj in kept)) for kind, kept in self._batches.items()}
