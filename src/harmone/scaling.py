"""Input representations that travel with each model version.

A model never sees raw values: a representation encodes each window of past values (and its
target) into the numbers the model learns from, and decodes the model's output back to the
original scale. A version is served with the representation fitted on *its own* training
data; the stream is never scaled with statistics from the future.

Two representations, both affine maps per window (so a naive model that returns one encoded
input returns that raw value):

- ``minmax`` (published): ``(v - min) / (max - min)`` with the training data's min and max. A
  level outside the training range is an extrapolation the model never saw.
- ``relative`` (default): ``(v - last) / scale``, the window relative to its own last value,
  and the target is the next change. ``scale`` is the spread of one-step changes in the
  training data. A new level looks like any other, so a model carries over to it.

Each fitted representation also records ``context``, the number of past values its model
needs. Versions stored before that existed have ``context = None``: they are served with
whatever window the engine passes, as they always were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self

import numpy as np

#: Names accepted by the ``inputs`` hyperparameter of every model kind.
REPRESENTATIONS = ("relative", "minmax")
#: Most past values a model may read (the ``context`` hyperparameter, a stored version's context).
MAX_CONTEXT = 10_000


class Predictor(Protocol):
    def predict(self, X: np.ndarray) -> np.ndarray: ...

    def predict_one(self, window: Sequence[float]) -> float: ...


class _Representation:
    """Shared serving logic: fit the window to ``context``, encode, predict, decode."""

    context: int | None = None

    def encode(self, windows: np.ndarray, targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def decode(self, predicted: np.ndarray, windows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict_next(self, model: Predictor, window: Sequence[float]) -> float:
        """One prediction in plain Python floats (the streaming hot path).

        The window is fitted to ``context``; one shorter than that predicts its last value.
        """
        n = self.context
        if n is not None and len(window) != n:
            if len(window) < n:
                return float(window[-1])
            window = window[-n:]
        return self._predict_fitted(model, window)

    def _predict_fitted(self, model: Predictor, window: Sequence[float]) -> float:
        raise NotImplementedError

    def _fit_width(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Windows trimmed to ``context``; rows too short for it are flagged (they predict the last value)."""
        windows = np.asarray(windows, dtype=np.float64)
        n = self.context
        if n is None or windows.shape[1] == n:
            return windows, np.zeros(len(windows), dtype=bool)
        if windows.shape[1] > n:
            return windows[:, -n:], np.zeros(len(windows), dtype=bool)
        return np.repeat(windows[:, -1:], n, axis=1), np.ones(len(windows), dtype=bool)

    def predict(self, model: Predictor, windows: np.ndarray) -> np.ndarray:
        """Predictions on the original scale for raw windows ``(n, width)``."""
        fitted, short = self._fit_width(windows)
        encoded, _ = self.encode(fitted)
        out = self.decode(model.predict(encoded), fitted)
        out[short] = fitted[short, -1]
        return out


class MinMaxScaler(_Representation):
    """The published representation: min-max scaling on the training level."""

    name = "minmax"

    def fit(self, values: np.ndarray, context: int | None = None) -> Self:
        values = np.asarray(values, dtype=np.float64)
        self.min_ = float(np.min(values))
        self.max_ = float(np.max(values))
        span = self.max_ - self.min_
        # A constant series still needs an invertible map.
        self.range_ = span if span > 0 else 1.0
        self.context = context
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=np.float64) - self.min_) / self.range_

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64) * self.range_ + self.min_

    def encode(self, windows: np.ndarray, targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        return self.transform(windows), None if targets is None else self.transform(targets)

    def decode(self, predicted: np.ndarray, windows: np.ndarray) -> np.ndarray:
        return self.inverse_transform(predicted)

    def _predict_fitted(self, model: Predictor, window: Sequence[float]) -> float:
        lo, span = self.min_, self.range_
        return model.predict_one([(v - lo) / span for v in window]) * span + lo

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"min": self.min_, "max": self.max_}
        if self.context is not None:
            out.update(representation=self.name, context=self.context)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MinMaxScaler:
        scaler = cls()
        scaler.min_ = float(data["min"])
        scaler.max_ = float(data["max"])
        if not (np.isfinite(scaler.min_) and np.isfinite(scaler.max_)) or scaler.max_ < scaler.min_:
            raise ValueError(f"min {scaler.min_!r} and max {scaler.max_!r} must be finite with min <= max")
        span = scaler.max_ - scaler.min_
        scaler.range_ = span if span > 0 else 1.0
        scaler.context = _context(data)
        return scaler


class RelativeScaler(_Representation):
    """The default representation: the window relative to its last value, in units of typical change."""

    name = "relative"

    def fit(self, values: np.ndarray, context: int | None = None) -> Self:
        values = np.asarray(values, dtype=np.float64)
        spread = float(np.std(np.diff(values))) if len(values) > 2 else 0.0
        # A constant (or one-step) series still needs an invertible map.
        self.scale_ = spread if spread > 0 and np.isfinite(spread) else 1.0
        self.context = context
        return self

    def encode(self, windows: np.ndarray, targets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        windows = np.asarray(windows, dtype=np.float64)
        last = windows[:, -1:]
        X = (windows - last) / self.scale_
        if targets is None:
            return X, None
        return X, (np.asarray(targets, dtype=np.float64) - last[:, 0]) / self.scale_

    def decode(self, predicted: np.ndarray, windows: np.ndarray) -> np.ndarray:
        return np.asarray(windows, dtype=np.float64)[:, -1] + np.asarray(predicted, dtype=np.float64) * self.scale_

    def _predict_fitted(self, model: Predictor, window: Sequence[float]) -> float:
        last, scale = float(window[-1]), self.scale_
        return last + model.predict_one([(v - last) / scale for v in window]) * scale

    def to_dict(self) -> dict[str, Any]:
        return {"representation": self.name, "scale": self.scale_, "context": self.context}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RelativeScaler:
        scaler = cls()
        scale = float(data["scale"])
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        scaler.scale_ = scale
        scaler.context = _context(data)
        return scaler


class FeatureScaler:
    """A record's features standardised with its version's training statistics (classification).

    A feature constant in the training data keeps its offset and unit scale, so an unseen
    value there stays finite. The model's output (a class index) needs no decoding.
    """

    name = "standard"
    #: Records are read whole: no window of past values.
    context: int | None = None

    def fit(self, X: np.ndarray) -> Self:
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        sd = X.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        return self

    def encode(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_

    def predict_next(self, model: Predictor, features: Sequence[float]) -> float:
        """One record's class (the streaming hot path)."""
        return model.predict_one((features - self.mean_) / self.scale_)

    def predict(self, model: Predictor, X: np.ndarray) -> np.ndarray:
        return model.predict(self.encode(X))

    def to_dict(self) -> dict[str, Any]:
        return {"representation": self.name, "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureScaler:
        scaler = cls()
        scaler.mean_ = np.asarray(data["mean"], dtype=np.float64)
        scaler.scale_ = np.asarray(data["scale"], dtype=np.float64)
        if scaler.mean_.ndim != 1 or scaler.mean_.shape != scaler.scale_.shape:
            raise ValueError(f"mean and scale must be lists of one length, got {scaler.mean_.shape} and "
                             f"{scaler.scale_.shape}")
        if not (np.all(np.isfinite(scaler.mean_)) and np.all(np.isfinite(scaler.scale_)) and np.all(scaler.scale_ > 0)):
            raise ValueError("mean must be finite and scale finite and positive")
        return scaler


Representation = MinMaxScaler | RelativeScaler | FeatureScaler


def _context(data: Mapping[str, Any]) -> int | None:
    value = data.get("context")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_CONTEXT:
        raise ValueError(f"context must be a whole number from 1 to {MAX_CONTEXT}, got {value!r}")
    return value


def make(name: str) -> Representation:
    """An unfitted representation by its ``inputs`` name."""
    if name == "minmax":
        return MinMaxScaler()
    if name == "relative":
        return RelativeScaler()
    raise ValueError(f"inputs must be one of {', '.join(REPRESENTATIONS)}, got {name!r}")


def from_dict(data: Mapping[str, Any]) -> Representation:
    """Read a stored representation; files without a name are the published min-max scaler."""
    name = data.get("representation", "minmax")
    if name == "minmax":
        return MinMaxScaler.from_dict(data)
    if name == "relative":
        return RelativeScaler.from_dict(data)
    if name == FeatureScaler.name:
        return FeatureScaler.from_dict(data)
    raise ValueError(f"unknown representation {name!r}")
