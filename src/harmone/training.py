"""The one place where a raw series becomes a trained model version.

First training, drift retraining and periodic retraining all go through ``train``, so every
version is built the same way: a representation (the ``inputs`` hyperparameter, see
``scaling.py``) fitted on its own training data, chronological fit/holdout split, metrics on
the original scale (including skill over persistence on the same holdout), and a snapshot of
the data it saw (what version reuse later compares against).

The holdout is the same values whatever the kind: the targets after the first
``window + n_fit`` values. A kind that looks further back (``context`` above the stream
window, a seasonal model) fits on fewer windows, never on holdout values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from harmone.config import Config
from harmone.data.windowing import make_windows
from harmone.errors import ConfigError, DataError
from harmone import scaling
from harmone.metrics import mean_absolute_error, r2_score, skill_over_persistence
from harmone.models import Model, model_class
from harmone.models.base import Progress
from harmone.scaling import Representation

#: Fewest windows to fit on, and fewest held out (R² needs at least two values to vary).
MIN_FIT_WINDOWS = 2
MIN_HOLDOUT_WINDOWS = 2


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """A model version: the fitted model, the representation it is served with, and its provenance."""

    kind: str
    model: Model
    #: The fitted representation (``scaling.MinMaxScaler`` or ``scaling.RelativeScaler``).
    scaler: Representation
    #: The training data as its task holds it (a read-only series on the original scale, or
    #: ``LabelledData``): what version reuse later compares against.
    snapshot: Any
    #: ``holdout_r2``, ``holdout_mae`` (original units), ``holdout_skill`` (over persistence),
    #: ``n_fit``, ``n_holdout``, ``context`` and ``selected`` (hyperparameters chosen by validation).
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


def holdout_windows(series: np.ndarray, config: Config, *, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The raw windows and targets that `train` holds out of fitting on `series`: the newest part.

    Validated adaptation compares a new version with the serving one on exactly these.
    ``width`` (a version's context) widens the windows where the series allows; a version
    given fewer values than its context predicts the last value.
    """
    values = np.asarray(series, dtype=np.float64)
    window = config.stream.input_length
    first = window + split_point(len(values) - window, config.stream.fit_fraction)
    wide = min(max(window, width or window), first)
    X, y = make_windows(values, wide)
    return X[first - wide:], y[first - wide:]


def can_warm_start(config: Config, kind: str) -> bool:
    """``retrain.warm_start`` is on and ``kind`` can start from its serving version.

    The kind's class says how (``Model.can_warm_start``): the LSTM fine-tunes the serving
    weights; a kind that validates a strength (Ridge, SVR) keeps the serving version's
    choice and fits once.
    """
    return config.retrain.warm_start and model_class(kind).can_warm_start(config.model_params(kind, retrain=True))


def warm_share(config: Config, kind: str, has_serving_version: bool) -> float:
    """An estimate of the share of a from-scratch retraining that the next retraining of ``kind`` costs.

    With a warm start (``can_warm_start`` and a version to start from: the rule of
    ``warm_start_from``), the kind's own estimate (``Model.warm_share``: ``warm_epochs /
    epochs`` for a fine-tune, one fit out of a validated fit's for a kept strength); else 1.
    """
    if not (has_serving_version and can_warm_start(config, kind)):
        return 1.0
    return model_class(kind).warm_share(config.model_params(kind, retrain=True), config.retrain.warm_epochs)


def warm_start_from(repository: Any, kind: str, config: Config) -> Model | None:
    """The serving version's model to start from (``retrain.warm_start``), or None: from scratch.

    ``repository`` is a ``ModelRepository``; its loaded models carry the strength their
    validation chose (``selected_``).
    """
    if not can_warm_start(config, kind):
        return None
    active = repository.active_version(kind)
    return None if active is None else repository.load(kind, active).model


def train(kind: str, data: Any, config: Config, *, retrain: bool = False, seed: int = 0,
          progress: Progress | None = None, initial: Model | None = None) -> TrainedModel:
    """Fit ``kind`` on its task's training ``data`` and measure it on the chronological holdout.

    The one entry for first training, retraining and the energy calibration's measured fits:
    the kind's task (``harmone.tasks``) knows what its records are.
    """
    from harmone import tasks

    return tasks.of_kind(kind).train(kind, data, config, retrain=retrain, seed=seed, progress=progress,
                                     initial=initial)


def fit_forecaster(kind: str, series: np.ndarray, config: Config, *, retrain: bool = False, seed: int = 0,
                   progress: Progress | None = None, initial: Model | None = None) -> TrainedModel:
    """Fit a forecasting ``kind`` on ``series`` (original scale) and measure it on the chronological holdout.

    With ``initial`` (a fitted model of the same kind), continue from it where the kind can
    (``Model.start_from``: the LSTM fine-tunes for ``retrain.warm_epochs``, a validated kind
    keeps its strength) instead of fitting from scratch (warm start).
    """
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
    model, representation = new_model(kind, config, retrain)

    first_holdout = window + split_point(len(values) - window, fit_fraction)
    context = model.plan_context(values[:first_holdout], window)
    if first_holdout - context < MIN_FIT_WINDOWS:
        raise DataError(f"training series has {len(values)} values; {kind} looks back {context} values and "
                        f"needs at least {context + MIN_FIT_WINDOWS} before its holdout (raise the training share "
                        f"with --train-ratio, or lower the context)")
    scaler = scaling.make(representation).fit(values, context)
    raw_X, actual_all = make_windows(values, context)
    X, y = scaler.encode(raw_X, actual_all)
    assert y is not None
    cut = first_holdout - context
    metrics_extra = fit(model, X[:cut], y[:cut], config, seed=seed, progress=progress, initial=initial)

    predicted = scaler.decode(model.predict(X[cut:]), raw_X[cut:])
    actual = actual_all[cut:]
    r2 = r2_score(actual, predicted)
    metrics = {
        "holdout_r2": r2,
        "holdout_score": r2,  # the task's metric, under the name every task's versions share
        "holdout_mae": mean_absolute_error(actual, predicted),
        "holdout_skill": skill_over_persistence(actual, predicted, raw_X[cut:, -1]),
        "n_fit": int(cut),
        "n_holdout": int(len(actual)),
        "context": int(context),
        "selected": dict(getattr(model, "selected_", {})),
        **metrics_extra,
    }
    values.setflags(write=False)
    return TrainedModel(kind=kind, model=model, scaler=scaler, snapshot=values, metrics=metrics,
                        params=dict(model.params), train_time_s=time.perf_counter() - started)


def fit(model: Model, X: np.ndarray, y: np.ndarray, config: Config, *, seed: int, progress: Progress | None,
        initial: Model | None) -> dict[str, Any]:
    """Fit ``model`` on encoded ``X``, ``y``: continuing from ``initial`` where the kind can (a warm
    start, then ``{"warm_start": True}`` for the version's metrics), else from scratch (``{}``)."""
    if initial is not None and model.start_from(initial, config.retrain.warm_epochs):
        model.fit_from(X, y, initial, seed=seed, progress=progress)
        return {"warm_start": True}
    model.fit(X, y, seed=seed, progress=progress)
    return {}


def new_model(kind: str, config: Config, retrain: bool) -> tuple[Model, str]:
    """An unfitted model with the configured hyperparameters, and the name of its representation."""
    cls = model_class(kind)
    params = config.model_params(kind, retrain=retrain)
    try:
        cls.check_params(params)
    except ValueError as exc:
        section = f"[models.{kind}.retrain]" if retrain else f"[models.{kind}]"
        raise ConfigError(f"{section}: {exc}") from None
    return cls(**params), str(params.get("inputs", "minmax"))
