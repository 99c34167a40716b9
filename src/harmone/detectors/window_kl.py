"""The published detector: KL divergence between the last window of values and the window before.

Drift when KL(window before || last window) exceeds ``threshold``. The direction is the
original's: KL crosses the threshold only once most of the last window belongs to the new
regime, so the last window describes the new regime. Both windows are binned over one
shared set of equal-width edges spanning both (the original binned each over its own
range, so a shifted window looked identical). Natural logarithm: nats.

This module is also where KL between two samples lives (``kl_divergence``): reuse selection
compares a drift window with stored versions' training data with it.

Values arrive one per prediction while the loop reads the flag every few seconds, so
``update`` only writes into a ring buffer and the divergence is computed when ``score`` or
``drift_detected`` is read after new values. Unlike the other detectors it does not reset on
a detection: the flag stays up while the two windows differ, as the published loop (which
waits a cooldown after acting) expects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Self

import numpy as np

from harmone.detectors import register
from harmone.detectors.base import DetectorError, DriftDetector, state_value
from harmone.params import Interval


def finite(values: np.ndarray | Iterable[float]) -> np.ndarray:
    """The finite values as a flat float array (uncopied when all are finite)."""
    array = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(array)
    return array if finite.all() else array[finite]


def split_divergence(values: np.ndarray, split: int, bins: int, epsilon: float) -> float:
    """KL(values[:split] || values[split:]) over shared equal-width bins of all the values.

    ``values`` must be finite and both parts non-empty. One pass for both samples: bin
    indices by arithmetic (what np.histogram computes for uniform edges), the second
    sample's shifted by ``bins``, one bincount. The drift check runs every few seconds, so
    this is most of its energy.
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


def kl_divergence(p_values: np.ndarray | Iterable[float], q_values: np.ndarray | Iterable[float], *,
                  bins: int, epsilon: float) -> float:
    """KL(P || Q) of the two samples' histograms over one shared set of bin edges.

    The edges split the range of both samples together into ``bins`` equal bins, so bin i
    means the same values in P and Q. Each histogram becomes probabilities, gets ``epsilon``
    added to every bin (no empty bin, no log 0) and is renormalised to sum to one; the
    result is clamped at 0 and is 0 when all values are one constant. Non-finite values are
    ignored; a sample without a finite value raises ``DetectorError`` (a ``ValueError``).
    """
    p, q = finite(p_values), finite(q_values)
    if p.size == 0 or q.size == 0:
        raise DetectorError(f"both samples need finite values (got {p.size} and {q.size})")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise DetectorError(f"bins must be an integer >= 1, got {bins!r}")
    return split_divergence(np.concatenate([p, q]), p.size, int(bins), epsilon)


@register
class WindowKL(DriftDetector):
    """KL(window before || last window) of the last ``2 * window`` finite values > ``threshold``."""

    name = "window-kl"
    default_params = {"window": 1200, "bins": 50, "epsilon": 1e-10, "threshold": 0.75}
    #: The published constants' place: the drift data and version comparison read them too.
    settings_section = "drift"

    parameter_constraints = {"window": Interval(int, 2, 5_000_000), "bins": Interval(int, 2, 10_000),
                             "epsilon": Interval(float, 0, 1, closed="right"), "threshold": Interval(float, 0, None)}

    @classmethod
    def first_score_after(cls, params: Mapping[str, Any]) -> tuple[int, str] | None:
        """Two full windows."""
        return 2 * params["window"], "window"

    def _reset(self) -> None:
        self._buffer = np.zeros(2 * self.params["window"], dtype=np.float64)
        self._next = 0  # where the next value goes; the oldest value once the buffer is full
        self._count = 0
        self._score: float | None = None
        self._stale = True

    def _update(self, value: float) -> None:
        self._buffer[self._next] = value
        self._next = (self._next + 1) % self._buffer.size
        self._count = min(self._count + 1, self._buffer.size)
        self._stale = True

    def update_many(self, values: Iterable[float]) -> Self:
        """Take a batch at once: O(batch), without a Python call per value."""
        batch = finite(values if isinstance(values, np.ndarray) else list(values))
        if batch.size == 0:
            return self
        self.n_seen += int(batch.size)
        size = self._buffer.size
        if batch.size >= size:
            self._buffer[:] = batch[-size:]
            self._next = 0
        else:
            head = min(batch.size, size - self._next)
            self._buffer[self._next:self._next + head] = batch[:head]
            self._buffer[:batch.size - head] = batch[head:]
            self._next = (self._next + batch.size) % size
        self._count = min(self._count + int(batch.size), size)
        self._stale = True
        return self

    def feed(self, values: Iterable[float]) -> bool:
        """``update_many``, then the flag: the verdict is on the windows as they stand after the batch."""
        return self.update_many(values).drift_detected

    @property
    def ready(self) -> bool:
        return self._count == self._buffer.size

    def values(self) -> np.ndarray:
        """The kept values, oldest first (a copy): the last window is the drift data."""
        if self._count < self._buffer.size:
            return self._buffer[:self._count].copy()
        return np.concatenate((self._buffer[self._next:], self._buffer[:self._next]))

    @property
    def score(self) -> float | None:
        if self._stale:
            self._stale = False
            if self.ready:
                self._score = split_divergence(self.values(), self.params["window"], self.params["bins"],
                                               self.params["epsilon"])
            else:
                self._score = None
        return self._score

    @property
    def drift_detected(self) -> bool:
        score = self.score
        return score is not None and score > self.params["threshold"]

    def _get_state(self) -> dict[str, Any]:
        return {"values": self.values().tolist()}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        values = state_value(state, "values", list)
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise DetectorError("detector state: key 'values' must be a list of numbers") from None
        if array.ndim != 1 or array.size > self._buffer.size or not np.isfinite(array).all():
            raise DetectorError(f"detector state: key 'values' must hold at most {self._buffer.size} "
                                "finite numbers")
        self.update_many(array)
