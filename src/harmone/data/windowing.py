"""Turn a univariate series into (past window, next value) pairs."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def make_windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """``X[i]`` holds ``series[i:i+window]`` and ``y[i]`` is ``series[i+window]``."""
    series = np.asarray(series, dtype=np.float64)
    if len(series) <= window:
        raise ValueError(f"need more than {window} values to form one window, got {len(series)}")
    X = sliding_window_view(series[:-1], window)
    return np.ascontiguousarray(X), series[window:].copy()
