"""The one place where a raw series becomes a trained model version.

First training, drift retraining and periodic retraining all go through ``train``, so every
version is built the same way: a scaler fitted on its own training data, chronological
fit/holdout split, metrics on the original scale, and a snapshot of the data it saw (what
version reuse later compares against).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from harmone.config import Config
from harmone.data.windowing import make_windows
from harmone.errors import ConfigError, DataError
from harmone.metrics import mean_absolute_error, r2_score
from harmone.models import Model, model_class
from harmone.models.base import Progress
from harmone.scaling import MinMaxScaler

#: Fewest windows to fit on, and fewest held out (R² needs at least two values to vary).
MIN_FIT_WINDOWS = 2
MIN_HOLDOUT_WINDOWS = 2


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """A model version: the fitted model, the scaler it is served with, and its provenance."""

    kind: str
    model: Model
    scaler: MinMaxScaler
    #: The raw training series on the original scale (read-only).
    snapshot: np.ndarray
    #: ``holdout_r2``, ``holdout_mae`` (original units), ``n_fit``, ``n_holdout``.
    metrics: dict[str, Any]
    params: dict[str, Any]
    train_time_s: float


def split_point(n_windows: int, fit_fraction: float) -> int:
    """Windows before this index fit the model; the rest are the holdout (no shuffling)."""
    return int(n_windows * fit_fraction)


def _split_ok(n_windows: int, fit_fraction: float) -> bool:
    n_fit = split_point(n_windows, fit_fraction)
    return n_fit >= MIN_FIT_WINDOWS and n_windows - n_fit >= MIN_HOLDOUT_WINDOWS


def min_series_length(window: int, fit_fraction: float) -> int | None:
    """Fewest values ``train`` accepts, or None when ``fit_fraction`` never leaves a holdout."""
    # Both the fit and the holdout count grow monotonically with the number of windows.
    hi = 1 << 40
    if not _split_ok(hi, fit_fraction):
        return None
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _split_ok(mid, fit_fraction):
            hi = mid
        else:
            lo = mid + 1
    return window + lo


def _check_series(series: np.ndarray) -> np.ndarray:
    try:
        values = np.array(series, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"training series is not numeric ({exc})") from None
    if values.ndim != 1:
        raise DataError(f"training series must be one-dimensional, got shape {values.shape}")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataError(f"training series value at index {bad[0]} is {values[bad[0]]!r}, not a finite number")
    return values


def holdout_windows(series: np.ndarray, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """The raw windows and targets that `train` holds out of fitting on `series`: the newest part.

    Validated adaptation compares a new version with the serving one on exactly these.
    """
    values = np.asarray(series, dtype=np.float64)
    X, y = make_windows(values, config.stream.input_length)
    n_fit = split_point(len(X), config.stream.fit_fraction)
    return X[n_fit:], y[n_fit:]


def train(kind: str, series: np.ndarray, config: Config, *, retrain: bool = False, seed: int = 0,
          progress: Progress | None = None) -> TrainedModel:
    """Fit ``kind`` on ``series`` (original scale) and measure it on the chronological holdout."""
    started = time.perf_counter()
    values = _check_series(series)
    window = config.stream.input_length
    fit_fraction = config.stream.fit_fraction
    needed = min_series_length(window, fit_fraction)
    if needed is None:
        raise DataError(f"stream.fit_fraction = {fit_fraction} leaves no holdout; training needs it below 1")
    if len(values) < needed:
        raise DataError(f"training series has {len(values)} values; training needs at least {needed} "
                        f"(window {window}, fit_fraction {fit_fraction})")

    cls = model_class(kind)
    params = config.model_params(kind, retrain=retrain)
    try:
        cls.check_params(params)
    except ValueError as exc:
        section = f"[models.{kind}.retrain]" if retrain else f"[models.{kind}]"
        raise ConfigError(f"{section}: {exc}") from None
    model = cls(**params)

    scaler = MinMaxScaler().fit(values)
    X, y = make_windows(scaler.transform(values), window)
    n_fit = split_point(len(X), fit_fraction)
    model.fit(X[:n_fit], y[:n_fit], seed=seed, progress=progress)

    predicted = scaler.inverse_transform(model.predict(X[n_fit:]))
    actual = values[window + n_fit:]
    metrics = {
        "holdout_r2": r2_score(actual, predicted),
        "holdout_mae": mean_absolute_error(actual, predicted),
        "n_fit": int(n_fit),
        "n_holdout": int(len(actual)),
    }
    values.setflags(write=False)
    return TrainedModel(kind=kind, model=model, scaler=scaler, snapshot=values, metrics=metrics,
                        params=dict(model.params), train_time_s=time.perf_counter() - started)
