"""Min-max scaling that travels with each model version.

A version is served with the scaler fitted on *its own* training data; the stream is never
scaled with statistics from the future (the original fitted on the whole test stream).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

import numpy as np


class MinMaxScaler:
    def fit(self, values: np.ndarray) -> Self:
        values = np.asarray(values, dtype=np.float64)
        self.min_ = float(np.min(values))
        self.max_ = float(np.max(values))
        span = self.max_ - self.min_
        # A constant series still needs an invertible map.
        self.range_ = span if span > 0 else 1.0
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=np.float64) - self.min_) / self.range_

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64) * self.range_ + self.min_

    def to_dict(self) -> dict[str, float]:
        return {"min": self.min_, "max": self.max_}

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> MinMaxScaler:
        scaler = cls()
        scaler.min_ = float(data["min"])
        scaler.max_ = float(data["max"])
        span = scaler.max_ - scaler.min_
        scaler.range_ = span if span > 0 else 1.0
        return scaler
