"""How well a model predicts the newest data, and the one rule that promotes on it.

Validated adaptation (``drift.validate``, ``retrain.validate``) compares a candidate
version (a stored one to reuse, or a fresh fit) with the serving version on the same
held-out windows of the newest values: the part of them a retraining holds out of fitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from harmone.config import Config
from harmone.errors import DataError
from harmone.metrics import r2_score


class Predictor(Protocol):
    def predict(self, windows: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Evaluation:
    """Mean squared error and R² of one model on held-out windows, original scale."""

    mse: float
    r2: float
    n_windows: int


def evaluate(model: Predictor, values: np.ndarray, config: Config) -> Evaluation:
    """``model`` on the held-out newest windows of ``values`` (``training.holdout_windows``)."""
    from harmone.training import holdout_windows

    X, y = holdout_windows(values, config)
    if len(y) < 2:
        raise DataError(f"{len(values)} values leave {len(y)} held-out windows; evaluating a model needs at least 2")
    predictions = model.predict(X)
    return Evaluation(mse=float(np.mean((predictions - y) ** 2)), r2=r2_score(y, predictions), n_windows=len(y))


class _Persistence:
    """Predicts each window's last value: the forecast any model must beat to earn its energy."""

    def predict(self, windows: np.ndarray) -> np.ndarray:
        return np.asarray(windows, dtype=np.float64)[:, -1]


def persistence(values: np.ndarray, config: Config) -> Evaluation | None:
    """Persistence on the same held-out windows as ``evaluate``; None unless ``drift.beat_persistence``."""
    if not config.drift.beat_persistence:
        return None
    return evaluate(_Persistence(), values, config)


def promote(candidate: Evaluation, serving: Evaluation, baseline: Evaluation | None = None) -> bool:
    """The promotion rule of validated adaptation: no worse than what serves, on the newest data.

    With a ``baseline`` (persistence, ``drift.beat_persistence``) also no worse than it: a
    candidate that loses to repeating the last value is not worth serving, however bad the
    serving version has become.
    """
    return candidate.mse <= serving.mse and (baseline is None or candidate.mse <= baseline.mse)
