"""Choosing a regularisation strength by time-ordered validation on the training windows.

Rolling origin: the windows are cut into ``FOLDS + 1`` consecutive blocks; fold ``k`` fits on
every block before block ``k + 1`` and scores the squared error on block ``k + 1``. The
candidate with the least total error wins; candidates are given from the strongest
regularisation to the weakest and a tie keeps the stronger one, so a series with nothing to
learn beyond the last value ends near persistence instead of fitting noise. Nothing is
shuffled: a model is never scored on windows older than the ones it learned from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: Validation folds; three keep the cost at three fits per candidate.
FOLDS = 3
#: Fewest windows per block for validation to mean anything; below it the fallback is used.
MIN_BLOCK = 8

#: fit_predict(candidate, X_fit, y_fit, X_score) -> predictions for X_score.
FitPredict = Callable[[float, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def choose(candidates: Sequence[float], fit_predict: FitPredict, X: np.ndarray, y: np.ndarray,
           fallback: float) -> float:
    """The candidate with the least rolling-origin squared error, or ``fallback`` on too few windows."""
    n = len(X)
    edges = [n * k // (FOLDS + 1) for k in range(FOLDS + 2)]
    if n // (FOLDS + 1) < MIN_BLOCK:
        return fallback
    best, best_error = fallback, np.inf
    for candidate in candidates:
        error = 0.0
        for k in range(1, FOLDS + 1):
            fit, lo, hi = edges[k], edges[k], edges[k + 1]
            predicted = fit_predict(candidate, X[:fit], y[:fit], X[lo:hi])
            error += float(np.sum((y[lo:hi] - predicted) ** 2))
        if error < best_error * (1 - 1e-9):
            best, best_error = candidate, error
    return best


def cost_in_fits(n_candidates: int) -> float:
    """An estimate of a validated fit's cost in fits on all windows (fit cost taken as linear in windows).

    Fold ``k`` fits on ``k / (FOLDS + 1)`` of the windows, for each candidate, then the
    chosen one fits on all of them: why keeping a version's choice makes a retraining cheap.
    """
    per_candidate = sum(k / (FOLDS + 1) for k in range(1, FOLDS + 1))
    return n_candidates * per_candidate + 1.0
