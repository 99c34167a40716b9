"""Where in a window did the regime change: the split that best separates two samples.

A detector says *that* the stream changed; a version stored for later reuse must also know
*where*, or its training sample mixes the old regime with the new one (the published loop
stores the whole drift window, which at detection is often a third old regime). The split
chosen is the one maximising the weighted two-sample Kolmogorov-Smirnov statistic

    sqrt(k (n - k) / n) * max |F_before(x) - F_after(x)|

over splits that leave at least ``min_size`` values on each side: distribution-free, so a
change of level, spread or daily shape all show, and the weight keeps short segments from
looking different by chance. Below ``threshold`` (about the 1 % point of the statistic for
one split of independent data) no change is located and the whole window is one regime.
"""

from __future__ import annotations

import math

import numpy as np

#: Splits examined: every ``len(values) // SPLITS`` values (the statistic is smooth in k).
SPLITS = 64
#: Weighted KS below this: no change located.
THRESHOLD = 1.63


def ks_statistic(before: np.ndarray, after: np.ndarray) -> float:
    """Weighted two-sample KS statistic of two non-empty finite samples."""
    a, b = np.sort(before), np.sort(after)
    grid = np.concatenate([a, b])
    gap = np.abs(np.searchsorted(a, grid, side="right") / a.size - np.searchsorted(b, grid, side="right") / b.size)
    return math.sqrt(a.size * b.size / (a.size + b.size)) * float(gap.max())


def locate_change(values: np.ndarray, min_size: int, threshold: float = THRESHOLD) -> int | None:
    """Index of the first value of the new regime in ``values`` (finite), or None when none is located.

    None too when ``values`` is shorter than two segments of ``min_size``.
    """
    n = int(values.size)
    if min_size < 1 or n < 2 * min_size:
        return None
    step = max(1, n // SPLITS)
    best, best_split = threshold, None
    for split in range(min_size, n - min_size + 1, step):
        score = ks_statistic(values[:split], values[split:])
        if score > best:
            best, best_split = score, split
    return best_split
