"""Pure computations behind the live charts: rolling R² and skill over persistence.

Rolling figures use running sums, so a window of any length costs one pass over the rows.
Skill over persistence compares the model's squared error with that of predicting the
previous true value: above 0 the model beats the naive forecast.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Predictions a rolling figure is taken over.
ROLLING_WINDOW = 100


def _window_sums(values: np.ndarray, window: int) -> np.ndarray:
    """Sum of each run of ``window`` values ending at each index from ``window - 1`` on."""
    c = np.concatenate(([0.0], np.cumsum(values)))
    return c[window:] - c[:-window]


def rolling_r2(truth: np.ndarray, predicted: np.ndarray, window: int = ROLLING_WINDOW) -> np.ndarray:
    """R² over each window ending at each row; NaN until a window is full or when truth is flat."""
    out = np.full(len(truth), np.nan)
    if len(truth) < window or window < 2:
        return out
    sse = _window_sums((truth - predicted) ** 2, window)
    total, squares = _window_sums(truth, window), _window_sums(truth ** 2, window)
    sst = squares - total ** 2 / window
    with np.errstate(divide="ignore", invalid="ignore"):
        out[window - 1:] = np.where(sst > 1e-12, 1.0 - sse / sst, np.nan)
    return out


def rolling_skill(truth: np.ndarray, predicted: np.ndarray, window: int = ROLLING_WINDOW) -> np.ndarray:
    """1 − model SSE / persistence SSE over each window (the first row has no persistence forecast)."""
    out = np.full(len(truth), np.nan)
    if len(truth) <= window or window < 2:
        return out
    model = (truth[1:] - predicted[1:]) ** 2
    naive = (truth[1:] - truth[:-1]) ** 2
    sse, sse_naive = _window_sums(model, window), _window_sums(naive, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[window:] = np.where(sse_naive > 1e-12, 1.0 - sse / sse_naive, np.nan)
    return out


def finite_list(values: Sequence[float] | np.ndarray, digits: int = 6) -> list[float | None]:
    """JSON-safe numbers: NaN and infinities become null (JSON has no NaN)."""
    rounded = np.round(np.asarray(values, dtype=np.float64), digits)
    out: list[float | None] = rounded.tolist()
    for i in np.flatnonzero(~np.isfinite(rounded)).tolist():
        out[i] = None
    return out
