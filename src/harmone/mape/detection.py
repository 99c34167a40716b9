"""The drift detector the drift loop feeds, built from config in this one place.

A detector has River's shape: ``update(value)`` returns the detector; then read ``ready``,
``drift_detected`` and ``score``; ``reset()`` starts over; ``get_state``/``set_state``
carry it as plain data. ``WindowKL`` is the published detector: KL(window before || last
window) of histograms over shared bins. ``make_detector`` is the one call the drift loop
makes, so another detector (chosen by name in config) plugs in here.

KL directions (docs/algorithm.md says why): the drift check is KL(window before || last
window), as in the original, so drift fires once the last window is mostly the new regime;
a version is judged by KL(drift data || its training sample) (``harmone.mape.reuse``).
Natural logarithm: nats.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from harmone.config import DriftConfig
from harmone.errors import DataError
from harmone.mape.recent import RecentValues


class Detector(Protocol):
    """What the drift loop needs of a detector."""

    @property
    def ready(self) -> bool: ...

    @property
    def drift_detected(self) -> bool: ...

    @property
    def score(self) -> float | None: ...

    def update(self, value: float) -> Detector: ...

    def reset(self) -> None: ...

    def get_state(self) -> dict[str, Any]: ...

    def set_state(self, state: dict[str, Any]) -> None: ...


def finite(values: Any) -> np.ndarray:
    """The finite values of ``values`` as a flat float array (all of them, uncopied, when all are)."""
    array = np.asarray(values, dtype=np.float64).ravel()
    keep = np.isfinite(array)
    return array if keep.all() else array[keep]


def split_divergence(values: np.ndarray, split: int, bins: int, epsilon: float) -> float:
    """KL(values[:split] || values[split:]) over shared equal-width bins of all the values.

    One pass for both samples: bin indices by arithmetic (what np.histogram computes for
    uniform edges), the second sample's shifted by ``bins``, one bincount. The drift check
    runs every few seconds, so this is most of its energy.
    """
    lo = float(values.min())
    hi = float(values.max())
    if hi <= lo:
        return 0.0  # both samples are one and the same constant
    index = np.minimum(((values - lo) / ((hi - lo) / bins)).astype(np.intp), bins - 1)
    index[split:] += bins
    counts = np.bincount(index, minlength=2 * bins).reshape(2, bins)
    probabilities = counts / np.array([[split], [values.size - split]], dtype=np.float64) + epsilon
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    p, q = probabilities
    return max(0.0, float(np.sum(p * np.log(p / q))))


def kl_divergence(p_values: Any, q_values: Any, *, bins: int, epsilon: float) -> float:
    """KL(P || Q) of the two samples' histograms over one shared set of bin edges.

    The edges split the range of both samples together into ``bins`` equal bins, so bin i
    means the same values in P and Q (the original binned each sample over its own range,
    so a shifted window looked identical to the old one). Each histogram becomes
    probabilities, gets ``epsilon`` added to every bin (no empty bin, no log 0) and is
    renormalised to sum to one. Non-finite values are ignored; a sample without a finite
    value is a ``DataError``.
    """
    p, q = finite(p_values), finite(q_values)
    if p.size == 0 or q.size == 0:
        raise DataError(f"KL divergence: both samples need finite values (got {p.size} and {q.size})")
    if bins < 1:
        raise DataError(f"KL divergence: bins must be >= 1, got {bins}")
    return split_divergence(np.concatenate([p, q]), p.size, bins, epsilon)


class WindowKL:
    """The published detector: drift when KL(window before || last window) > threshold.

    Keeps the last ``2 * window`` finite values; the score is computed when read (once per
    drift check, not per value), and None until both windows are full.
    """

    def __init__(self, *, window: int, bins: int, epsilon: float, threshold: float) -> None:
        self.window = window
        self.bins = bins
        self.epsilon = epsilon
        self.threshold = threshold
        self._recent = RecentValues(2 * window)
        self._score: float | None = None
        self._stale = True

    def update(self, value: float) -> WindowKL:
        if math.isfinite(value):
            self._recent.append(value)
            self._stale = True
        return self

    def update_many(self, values: Any) -> WindowKL:
        """``update`` for each value in order, in one step."""
        values = finite(values)
        if values.size:
            self._recent.update(values)
            self._stale = True
        return self

    @property
    def ready(self) -> bool:
        return len(self._recent) >= 2 * self.window

    @property
    def score(self) -> float | None:
        if self._stale:
            self._score = (split_divergence(self._recent.values, self.window, self.bins, self.epsilon)
                           if self.ready else None)
            self._stale = False
        return self._score

    @property
    def drift_detected(self) -> bool:
        score = self.score
        return score is not None and score > self.threshold

    def reset(self) -> None:
        self._recent = RecentValues(2 * self.window)
        self._stale = True

    def get_state(self) -> dict[str, Any]:
        return {"values": self._recent.values.tolist()}

    def set_state(self, state: dict[str, Any]) -> None:
        self.reset()
        self.update_many(state.get("values", []))


#: Detectors by the name ``drift.detector`` gives.
DETECTORS = {"window-kl": WindowKL}


def make_detector(config: DriftConfig) -> Detector:
    """The detector ``[drift]`` configures: ``drift.detector`` by name, with its settings."""
    cls = DETECTORS[config.detector]
    return cls(window=config.window, bins=config.bins, epsilon=config.epsilon, threshold=config.threshold)
