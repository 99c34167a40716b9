"""Periodic retraining (t3) as a pure decision: retrain on the latest values once there are enough."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from harmone.config import Config
from harmone.mape.detection import finite

RetrainAction = Literal["none", "retrain"]


@dataclass(frozen=True, eq=False)
class RetrainPlan:
    action: RetrainAction
    #: "scheduled" when retraining, "not-enough-data" or "no-new-data" otherwise.
    reason: Literal["scheduled", "not-enough-data", "no-new-data"]
    #: The last ``retrain.training_values`` finite true values ("retrain"), else None.
    training_data: np.ndarray | None
    n_values: int


def plan_retrain(recent_true: np.ndarray, config: Config, last_trained: np.ndarray | None = None) -> RetrainPlan:
    """Retrain on the last ``retrain.training_values`` true values; wait until that many exist.

    Anything shorter would train on less data than the configuration promises (and, early
    in a stream, on little more than the first training saw). When the values are exactly
    those the newest version was trained on (``last_trained``: no value arrived since, as
    with inference stopped), retraining would only store a copy: "no-new-data".
    """
    wanted = config.retrain.training_values
    values = finite(recent_true)
    if values.size < wanted:
        return RetrainPlan(action="none", reason="not-enough-data", training_data=None, n_values=int(values.size))
    training = values[-wanted:].copy()
    training.setflags(write=False)
    if last_trained is not None and np.array_equal(training, last_trained):
        return RetrainPlan(action="none", reason="no-new-data", training_data=None, n_values=int(values.size))
    return RetrainPlan(action="retrain", reason="scheduled", training_data=training, n_values=int(values.size))
