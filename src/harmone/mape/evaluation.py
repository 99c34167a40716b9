"""How well a model predicts the newest data, and the one rule that promotes on it.

Validated adaptation (``drift.validate``, ``retrain.validate``) compares a candidate
version (a stored one to reuse, or a fresh fit) with the serving version on the same
held-out records of the newest data: the part of them a retraining holds out of fitting.
The task (``harmone.tasks``) says what a record is, its loss (squared error, or the share
wrong) and its naive baseline (persistence, or the no-change classifier).
"""

from __future__ import annotations

from typing import Any

from harmone.config import Config
from harmone.tasks import Evaluation


def evaluate(model: Any, data: Any, config: Config) -> Evaluation:
    """A served version (``repository.ServingModel``) on the held-out newest records of ``data``."""
    return config.task.evaluate(model, data, config)


def baseline(data: Any, config: Config) -> Evaluation | None:
    """The task's naive baseline on the same held-out records as ``evaluate``; None unless
    ``drift.beat_persistence``."""
    if not config.drift.beat_persistence:
        return None
    return config.task.baseline_evaluation(data, config)


def promote(candidate: Evaluation, serving: Evaluation, naive: Evaluation | None = None) -> bool:
    """The promotion rule of validated adaptation: no worse than what serves, on the newest data.

    With a ``naive`` baseline (``drift.beat_persistence``) also no worse than it: a candidate
    that loses to repeating the last value (or label) is not worth serving, however bad the
    serving version has become.
    """
    return candidate.loss <= serving.loss and (naive is None or candidate.loss <= naive.loss)


__all__ = ["Evaluation", "baseline", "evaluate", "promote"]
