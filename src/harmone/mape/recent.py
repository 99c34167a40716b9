"""The newest values of a stream, kept in memory so a frequent check reads only what is new."""

from __future__ import annotations

import numpy as np


class RecentValues:
    """A fixed-capacity sliding window: ``update(new_values)``, then read ``values``.

    The drift loop compares the last two windows every few seconds; re-reading 2 400 rows
    from the knowledge base each time would cost more than the comparison itself.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._buffer = np.empty(2 * capacity, dtype=np.float64)
        self._end = 0

    def update(self, new_values: np.ndarray) -> RecentValues:
        new_values = np.asarray(new_values, dtype=np.float64).ravel()
        if new_values.size >= self.capacity:
            self._buffer[:self.capacity] = new_values[-self.capacity:]
            self._end = self.capacity
            return self
        if self._end + new_values.size > self._buffer.size:
            # Compact: keep the newest values at the front (amortised O(1) per value).
            keep = self.capacity - new_values.size
            self._buffer[:keep] = self._buffer[self._end - keep:self._end]
            self._end = keep
        self._buffer[self._end:self._end + new_values.size] = new_values
        self._end += new_values.size
        return self

    def append(self, value: float) -> RecentValues:
        """``update`` with one value, without building an array."""
        if self._end == self._buffer.size:
            keep = self.capacity - 1
            self._buffer[:keep] = self._buffer[self._end - keep:self._end]
            self._end = keep
        self._buffer[self._end] = value
        self._end += 1
        return self

    @property
    def values(self) -> np.ndarray:
        """The newest ``capacity`` values (fewer until that many arrived), oldest first."""
        return self._buffer[max(0, self._end - self.capacity):self._end].copy()

    def __len__(self) -> int:
        return min(self._end, self.capacity)
