"""Accuracy measures shared by training (holdout metrics) and the switch loop's monitor."""

from __future__ import annotations

import numpy as np


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("cannot score zero predictions")
    return y_true, y_pred


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination, ``1 - SS_res / SS_tot``.

    When the true values are constant (``SS_tot == 0``) the ratio is undefined; the score is
    then 1.0 if every prediction is exact and 0.0 otherwise (no better than predicting the
    mean), the convention of scikit-learn's ``force_finite``. The result is always finite,
    so a monitor window over a flat stretch of traffic never yields NaN or -inf.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    ss_res = float(np.sum((y_true - y_pred) ** 2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def skill_over_persistence(y_true: np.ndarray, y_pred: np.ndarray, y_persistence: np.ndarray) -> float:
    """``1 - SSE / SSE_persistence``: the share of persistence's squared error a forecast removes.

    1 is perfect, 0 is as good as predicting the last value, below 0 is worse than it. When
    persistence is exact everywhere (a constant stretch) the ratio is undefined; the score is
    then 0.0 for a forecast that is exact too and -1.0 otherwise, so it is always finite.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_base = _pair(y_true, y_persistence)
    sse = float(np.sum((y_true - y_pred) ** 2))
    sse_base = float(np.sum((y_true - y_base) ** 2))
    if sse_base == 0.0:
        return 0.0 if sse == 0.0 else -1.0
    return 1.0 - sse / sse_base


class RunningScores:
    """R² and MAE over batches of a long run, in constant memory.

    Sums are taken around the first value seen (a shift), so the sum of squares does not
    lose the digits a plain ``sum(y**2) - sum(y)**2 / n`` would; constant true values give
    an exactly zero ``SS_tot`` and follow ``r2_score``'s convention.
    """

    def __init__(self) -> None:
        self.n = 0
        self._shift: float | None = None
        self._sum = self._sum_sq = self._ss_res = self._abs = 0.0

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        if not len(y_true):
            return
        y_true, y_pred = _pair(y_true, y_pred)
        if self._shift is None:
            self._shift = float(y_true[0])
        centred = y_true - self._shift
        error = y_true - y_pred
        self.n += int(y_true.size)
        self._sum += float(centred.sum())
        self._sum_sq += float(np.dot(centred, centred))
        self._ss_res += float(np.dot(error, error))
        self._abs += float(np.abs(error).sum())

    def r2(self) -> float | None:
        """None below two values (R² of one prediction says nothing)."""
        if self.n < 2:
            return None
        ss_tot = max(self._sum_sq - self._sum * self._sum / self.n, 0.0)
        if ss_tot == 0.0:
            return 1.0 if self._ss_res == 0.0 else 0.0
        return 1.0 - self._ss_res / ss_tot

    def mae(self) -> float | None:
        return self._abs / self.n if self.n else None
