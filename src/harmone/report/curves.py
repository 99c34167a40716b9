"""Pure computations behind the plots: the Pareto front and rolling R²."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harmone.report.results import ReportError

#: Predictions per rolling-R² window; the drift loop compares windows of this size.
ROLLING_WINDOW = 1200


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the (energy, R²) points no other point beats, by increasing energy.

    A point is dominated when another has energy <= and R² >= with at least one strictly
    better; identical points do not dominate each other, so both stay on the front.
    """
    if len(points) == 0:
        return []
    array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    energy, r2 = array[:, 0][:, None], array[:, 1][:, None]
    no_worse = (energy.T <= energy) & (r2.T >= r2)       # [i, j]: j is no worse than i
    better = (energy.T < energy) | (r2.T > r2)
    dominated = np.any(no_worse & better, axis=1)
    front = np.flatnonzero(~dominated)
    order = np.lexsort((-array[front, 1], array[front, 0]))
    return [int(i) for i in front[order]]


def effective_window(predictions: int, window: int = ROLLING_WINDOW) -> int:
    """The rolling window to use: ``window``, or a quarter of a run shorter than it."""
    if window < 1:
        raise ReportError(f"rolling window must be >= 1, got {window}")
    if predictions >= window:
        return window
    return max(1, min(predictions, max(2, predictions // 4)))


def rolling_r2(true_value: np.ndarray, predicted_value: np.ndarray, window: int) -> np.ndarray:
    """R² over each run of ``window`` consecutive predictions; entry i ends at prediction i + window - 1.

    Cumulative sums make it O(n) whatever the window. A window whose true values are constant
    scores 1.0 when every prediction is exact, else 0.0 (the convention of harmone.metrics).
    """
    y = np.asarray(true_value, dtype=np.float64).reshape(-1)
    p = np.asarray(predicted_value, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise ReportError(f"true_value has {y.size} values but predicted_value has {p.size}")
    if not 1 <= window <= y.size:
        raise ReportError(f"rolling window {window} must be between 1 and the {y.size} predictions")
    y_c = y - y.mean()           # centring keeps the cumulative sums small, hence precise
    residual = (y_c - (p - y.mean())) ** 2
    sums = [np.concatenate(([0.0], np.cumsum(a))) for a in (y_c, y_c ** 2, residual)]
    s1, s2, sr = (s[window:] - s[:-window] for s in sums)
    ss_tot = s2 - s1 * s1 / window
    # Differences of cumulative sums are exact only to the rounding of the sums themselves.
    eps = np.finfo(np.float64).eps
    flat = ss_tot <= 64 * eps * max(sums[1][-1], 1e-300)
    exact = sr <= 64 * eps * max(sums[2][-1], 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - sr / np.where(flat, 1.0, ss_tot)
    return np.where(flat, np.where(exact, 1.0, 0.0), r2)
