"""Monitor of the switch loop: accuracy, energy and score of each model over one batch.

A batch is the rows logged since the loop's last run (``PredictionBatch``).

Rows are credited to the model that actually served them. The original credited every row
since its last run to whichever model was current at the time, so right after a switch the
old model's rows were scored as the new one's.

The accuracy term of the score is ``switch.score``: ``r2`` (published) or ``skill``, the
skill over persistence on the same rows (1 - SSE / SSE of predicting the previous true
value), clipped to [-1, 1]. R² over a calm window divides by a variance near zero and was
seen at -68; the skill divides by persistence's error on the same rows, which is what a
forecast has to beat anyway, and is bounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from harmone.config import Config
from harmone.energy.calibrate import normalise
from harmone.mape.snapshot import SwitchSnapshot

#: A model needs at least this many rows in the batch to be observed (R² needs two).
MIN_ROWS = 2


def score(r2: float, normalised: float, beta: float) -> float:
    """``beta * accuracy + (1 - beta) * (1 - e)``: accuracy (R² or skill) traded against energy."""
    return beta * r2 + (1.0 - beta) * (1.0 - normalised)


def window_skill(true: np.ndarray, pred: np.ndarray, previous: np.ndarray, config: Config) -> float | None:
    """Skill over the task's naive baseline (persistence; the no-change classifier: Kappa-temporal) on the
    rows that have a previous true value, clipped to [-1, 1]."""
    known = np.isfinite(previous)
    if np.count_nonzero(known) < MIN_ROWS:
        return None
    return float(np.clip(config.task.skill(true[known], pred[known], previous[known]), -1.0, 1.0))


@dataclass(frozen=True)
class ModelFigures:
    """How one model (or the whole pipeline) did over the rows it served in one batch."""

    n_rows: int
    r2: float
    mean_energy_uj: float
    normalised_energy: float
    score: float
    #: Skill over persistence on these rows (``switch.score = "skill"``; else None).
    skill: float | None = None


@dataclass(frozen=True)
class SwitchObservation:
    current_model: str
    #: Figures per model kind that served at least ``MIN_ROWS`` usable rows.
    per_model: Mapping[str, ModelFigures]
    #: Figures over every usable row regardless of model (None below ``MIN_ROWS``).
    overall: ModelFigures | None
    #: Rows in the batch, and those dropped for a non-finite value.
    n_rows: int
    n_dropped: int
    last_row_id: int

    @property
    def current(self) -> ModelFigures | None:
        """The current model's figures, or None when it served too few rows."""
        return self.per_model.get(self.current_model)


def _figures(true: np.ndarray, pred: np.ndarray, energy_uj: np.ndarray, previous: np.ndarray,
             snapshot: SwitchSnapshot, config: Config) -> ModelFigures | None:
    if len(true) < MIN_ROWS:
        return None
    r2 = config.task.accuracy(true, pred)
    mean_energy_uj = float(np.mean(energy_uj))
    e = normalise(mean_energy_uj, snapshot.e_min_uj, snapshot.e_max_uj)
    if config.switch.score == "r2":
        return ModelFigures(n_rows=len(true), r2=r2, mean_energy_uj=mean_energy_uj,
                            normalised_energy=e, score=score(r2, e, config.switch.beta))
    skill = window_skill(true, pred, previous, config)
    if skill is None:
        return None
    return ModelFigures(n_rows=len(true), r2=r2, mean_energy_uj=mean_energy_uj, normalised_energy=e,
                        score=score(skill, e, config.switch.beta), skill=skill)


def monitor_switch(snapshot: SwitchSnapshot, config: Config) -> SwitchObservation:
    """Score every model over the rows it served since the last run.

    Rows with a non-finite true value, prediction or energy are left out (a NaN would
    otherwise poison the stored EMA for good).
    """
    batch = snapshot.batch
    usable = np.isfinite(batch.true_value) & np.isfinite(batch.predicted_value) & np.isfinite(batch.energy_uj)
    # Persistence's forecast of each row: the true value of the row before (consecutive rows).
    before = np.concatenate(([np.nan], batch.true_value[:-1])) if len(batch) else batch.true_value
    true, pred, previous = batch.true_value[usable], batch.predicted_value[usable], before[usable]
    energy_uj, model = batch.energy_uj[usable], batch.model[usable]
    per_model: dict[str, ModelFigures] = {}
    for kind in np.unique(model):
        rows = model == kind
        figures = _figures(true[rows], pred[rows], energy_uj[rows], previous[rows], snapshot, config)
        if figures is not None:
            per_model[str(kind)] = figures
    return SwitchObservation(
        current_model=snapshot.current_model,
        per_model=MappingProxyType(per_model),
        overall=_figures(true, pred, energy_uj, previous, snapshot, config),
        n_rows=len(batch),
        n_dropped=int(len(batch) - np.count_nonzero(usable)),
        last_row_id=batch.last_row_id,
    )
