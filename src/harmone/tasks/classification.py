"""Classification: predict the class of each record of a labelled stream from its features.

A record is a feature vector and its label (``harmone.data.labelled``); a model reads one
record's features, standardised with its own training data's statistics, and predicts a
class index. The metric is accuracy; every score is judged against the no-change classifier
(the previous record's label again) by Kappa-temporal (Žliobaitė et al. 2015), and reports
add macro-F1 and Kappa-M against the majority class (Bifet et al. 2015).

Drift is watched two ways: detectors over the 0/1 error stream (DDM, EDDM: ``drift.feed =
"errors"``), and over the inputs through one number per record, its *roughness*: the mean
absolute difference of neighbouring features. On an image (features in row-major pixel
order) noise raises it, blur, low contrast and occlusion lower it; version reuse compares
its distribution in a version's training data with the drift data's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from harmone.config import Config
from harmone.data.labelled import LabelledData
from harmone.errors import DataError
from harmone.tasks import register
from harmone.tasks.base import Evaluation, Stream, Task

#: Fewest records of each part (fit, holdout) of a training set.
MIN_FIT_RECORDS = 10
MIN_HOLDOUT_RECORDS = 2


def roughness(X: np.ndarray) -> np.ndarray:
    """Mean absolute difference of neighbouring features, per record (0 for one feature)."""
    X = np.asarray(X, dtype=np.float64)
    if X.shape[1] < 2:
        return np.zeros(len(X))
    return np.mean(np.abs(np.diff(X, axis=1)), axis=1)


class RecordStream(Stream):
    """The test records in memory; a model reads one record's feature row."""

    first = 0

    def __init__(self, data: LabelledData) -> None:
        self.data = data
        self._rows = list(data.X)  # row views: indexing a list beats indexing a 2-D array per step
        self._labels = [float(v) for v in data.y]
        self._signals = roughness(data.X)

    def __len__(self) -> int:
        return len(self._labels)

    def input_at(self, position: int, width: int) -> np.ndarray:
        return self._rows[position]

    def target(self, position: int) -> float:
        return self._labels[position]

    def data_at(self, positions: np.ndarray) -> LabelledData:
        return self.data.take(np.asarray(positions, dtype=np.int64))

    def signals_at(self, positions: np.ndarray) -> np.ndarray:
        return self._signals[np.asarray(positions, dtype=np.int64)]


def _holdout_start(n: int, config: Config) -> int:
    return int(n * config.stream.fit_fraction)


@register
class Classification(Task):
    name = "classification"
    metric = "accuracy"
    baseline = "no-change"
    skill_name = "kappa-temporal"
    error_name = "error rate"
    loss_name = "error rate"
    default_models = ("cnn-large", "cnn-small", "logistic")
    default_model = "cnn-large"
    compared_kinds = ("cnn-large", "cnn-small", "logistic")
    profiles = ("digits",)
    #: The published drift windows (1,200 values, 2,667 before the first check and after an
    #: answer) are three minutes of a traffic series; the image stream's regimes last a few
    #: hundred records, and a window that spans two of them is judged on neither.
    config_defaults = {"drift": {"window": 300, "warmup_steps": 600, "cooldown_steps": 300}}

    def read_training(self, path: Path) -> LabelledData:
        from harmone.data.labelled import read_labelled

        return read_labelled(path)

    def read_stream(self, path: Path, config: Config) -> RecordStream:
        data = self.read_training(path)
        if not len(data):
            raise DataError(f"{path}: no records")
        return RecordStream(data)

    def format_data(self, data: Any) -> str:
        from harmone.data.labelled import format_labelled

        return format_labelled(data)

    def size(self, data: Any) -> int:
        return len(data)

    def newest(self, data: Any, count: int) -> LabelledData:
        return data.take(slice(max(0, len(data) - count), None))

    def to_json(self, data: Any) -> dict[str, Any]:
        return {"X": data.X.tolist(), "y": data.y.tolist(), "feature_names": list(data.feature_names),
                "class_names": list(data.class_names)}

    def from_json(self, raw: Any) -> LabelledData:
        if not isinstance(raw, dict):
            raise ValueError("expected an object with 'X', 'y', 'feature_names' and 'class_names'")
        return LabelledData(np.asarray(raw["X"], dtype=np.float64).reshape(len(raw["y"]), -1),
                            np.asarray(raw["y"], dtype=np.int64), tuple(raw["feature_names"]),
                            tuple(raw["class_names"]))

    # -- scores ----------------------------------------------------------------------------

    def accuracy(self, true: np.ndarray, predicted: np.ndarray) -> float:
        from harmone.metrics import accuracy

        return accuracy(true, predicted)

    def skill(self, true: np.ndarray, predicted: np.ndarray, previous: np.ndarray) -> float:
        from harmone.metrics import kappa_temporal

        return kappa_temporal(true, predicted, previous)

    def errors(self, true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        return (np.asarray(true, dtype=np.float64) != np.asarray(predicted, dtype=np.float64)).astype(np.float64)

    def running_scores(self) -> Any:
        from harmone.metrics import RunningClassScores

        return RunningClassScores()

    def read_scores(self, scores: Any) -> tuple[float | None, float | None]:
        accuracy = scores.accuracy
        return accuracy, None if accuracy is None else 1.0 - accuracy

    def signals(self, data: Any) -> np.ndarray:
        return roughness(data.X)

    # -- models ----------------------------------------------------------------------------

    def min_records(self, config: Config) -> int:
        n = MIN_FIT_RECORDS + MIN_HOLDOUT_RECORDS
        while _holdout_start(n, config) < MIN_FIT_RECORDS or n - _holdout_start(n, config) < MIN_HOLDOUT_RECORDS:
            n += 1
        return n

    def train(self, kind: str, data: Any, config: Config, *, retrain: bool = False, seed: int = 0,
              progress: Any = None, initial: Any = None) -> Any:
        from harmone.metrics import accuracy, kappa_m, kappa_temporal, macro_f1
        from harmone.scaling import FeatureScaler
        from harmone.training import TrainedModel, fit, new_model

        started = time.perf_counter()
        if not isinstance(data, LabelledData):
            raise DataError(f"{kind} learns labelled records; got {type(data).__name__}")
        needed = self.min_records(config)
        if len(data) < needed:
            raise DataError(f"training data has {len(data)} records; training needs at least {needed} "
                            f"(fit_fraction {config.stream.fit_fraction})")
        model, _ = new_model(kind, config, retrain)
        cut = _holdout_start(len(data), config)
        scaler = FeatureScaler().fit(data.X[:cut])
        X, y = scaler.encode(data.X), data.y.astype(np.float64)
        extra = fit(model, X[:cut], y[:cut], config, seed=seed, progress=progress, initial=initial)
        predicted, actual = model.predict(X[cut:]), y[cut:]
        previous = y[cut - 1:-1]
        score = accuracy(actual, predicted)
        metrics = {
            "holdout_score": score,
            "holdout_accuracy": score,
            "holdout_macro_f1": macro_f1(actual, predicted),
            "holdout_kappa_m": kappa_m(actual, predicted),
            "holdout_skill": kappa_temporal(actual, predicted, previous),
            "n_fit": int(cut),
            "n_holdout": int(len(actual)),
            "selected": dict(getattr(model, "selected_", {})),
            **extra,
        }
        return TrainedModel(kind=kind, model=model, scaler=scaler, snapshot=data, metrics=metrics,
                            params=dict(model.params), train_time_s=time.perf_counter() - started)

    def _holdout(self, data: LabelledData, config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cut = _holdout_start(len(data), config)
        if len(data) - cut < 2 or cut < 1:
            raise DataError(f"{len(data)} records leave {len(data) - cut} held out; evaluating a model needs at least 2")
        y = data.y.astype(np.float64)
        return data.X[cut:], y[cut:], y[cut - 1:-1]

    def evaluate(self, model: Any, data: Any, config: Config) -> Evaluation:
        from harmone.metrics import accuracy

        X, y, _ = self._holdout(data, config)
        score = accuracy(y, model.predict(X))
        return Evaluation(loss=1.0 - score, score=score, n_records=len(y))

    def baseline_evaluation(self, data: Any, config: Config) -> Evaluation:
        from harmone.metrics import accuracy

        _, y, previous = self._holdout(data, config)
        score = accuracy(y, previous)
        return Evaluation(loss=1.0 - score, score=score, n_records=len(y))
