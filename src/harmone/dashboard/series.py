"""Pure computations behind the live charts: the task's metric and its skill over the naive
baseline, rolling over the newest predictions.

A rolling figure at a row is the task's ``accuracy`` over the window of predictions ending
there, and its ``skill`` over the same window, with each row's previous true value as the
naive baseline's prediction (so the first row, which has none, is left out of skill
windows). The known tasks have closed forms over running sums, so a window of any length
costs one pass over the rows; they agree with the task's functions (tests pin it), and a
task without one is computed window by window with its own functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from harmone.tasks import Task

#: Predictions a rolling figure is taken over.
ROLLING_WINDOW = 100

Rolling = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


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


def rolling_accuracy(truth: np.ndarray, predicted: np.ndarray, window: int = ROLLING_WINDOW) -> np.ndarray:
    """The share of right classes over each window ending at each row; NaN until a window is full."""
    out = np.full(len(truth), np.nan)
    if len(truth) < window or window < 1:
        return out
    out[window - 1:] = _window_sums((truth == predicted).astype(np.float64), window) / window
    return out


def rolling_kappa_temporal(truth: np.ndarray, predicted: np.ndarray, window: int = ROLLING_WINDOW) -> np.ndarray:
    """Kappa-temporal over each window: accuracy's gain over the no-change classifier (the
    previous true class), with ``metrics.kappa_temporal``'s convention when no-change is perfect."""
    out = np.full(len(truth), np.nan)
    if len(truth) <= window or window < 1:
        return out
    right = _window_sums((truth[1:] == predicted[1:]).astype(np.float64), window)
    naive = _window_sums((truth[1:] == truth[:-1]).astype(np.float64), window)
    perfect = naive == window
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (right - naive) / (window - naive)
    out[window:] = np.where(perfect, np.where(right == window, 0.0, -1.0), kappa)
    return out


#: Closed forms of the metric and the skill, by task name (each equal to the task's functions).
CLOSED_FORMS: dict[str, tuple[Rolling, Rolling]] = {
    "forecasting": (rolling_r2, rolling_skill),
    "classification": (rolling_accuracy, rolling_kappa_temporal),
}


def rolling_windows(task: Task, truth: np.ndarray, predicted: np.ndarray,
                    window: int = ROLLING_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """The task's metric and skill over each window, by calling its functions on every window."""
    from numpy.lib.stride_tricks import sliding_window_view

    metric, skill = np.full(len(truth), np.nan), np.full(len(truth), np.nan)
    if len(truth) >= window >= 2:
        for i, (t, p) in enumerate(zip(sliding_window_view(truth, window), sliding_window_view(predicted, window))):
            metric[window - 1 + i] = task.accuracy(t, p)
    if len(truth) > window >= 2:
        windows = zip(sliding_window_view(truth[1:], window), sliding_window_view(predicted[1:], window),
                      sliding_window_view(truth[:-1], window))
        for i, (t, p, previous) in enumerate(windows):
            skill[window + i] = task.skill(t, p, previous)
    return metric, skill


def rolling(task: Task, truth: np.ndarray, predicted: np.ndarray,
            window: int = ROLLING_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """The task's rolling metric and skill over its baseline, NaN where a window is not full."""
    truth, predicted = np.asarray(truth, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    closed = CLOSED_FORMS.get(task.name)
    if closed is None:
        return rolling_windows(task, truth, predicted, window)
    return closed[0](truth, predicted, window), closed[1](truth, predicted, window)


def finite_list(values: Sequence[float] | np.ndarray, digits: int = 6) -> list[float | None]:
    """JSON-safe numbers: NaN and infinities become null (JSON has no NaN)."""
    rounded = np.round(np.asarray(values, dtype=np.float64), digits)
    out: list[float | None] = rounded.tolist()
    for i in np.flatnonzero(~np.isfinite(rounded)).tolist():
        out[i] = None
    return out
