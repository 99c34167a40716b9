"""Forecasting: predict the next value of a univariate series from the values before it.

A record is one value of the series; a model reads the last ``[stream] input_length``
values (or its own context) and predicts the next. The metric is R², the naive baseline
persistence (the last value again), and drift compares the distribution of the values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harmone.config import Config
from harmone.errors import DataError
from harmone.metrics import RunningScores, r2_score, skill_over_persistence
from harmone.tasks import register
from harmone.tasks.base import Evaluation, Stream, Task


class SeriesStream(Stream):
    """The test series as plain floats: a window is a list slice, the cheapest input to build."""

    def __init__(self, values: np.ndarray, window: int) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self._floats = [float(v) for v in self.values]
        self.first = window

    def __len__(self) -> int:
        return len(self._floats)

    def input_at(self, position: int, width: int) -> list[float]:
        return self._floats[max(0, position - width):position]

    def target(self, position: int) -> float:
        return self._floats[position]

    def data_at(self, positions: np.ndarray) -> np.ndarray:
        return self.values[np.asarray(positions, dtype=np.int64)]

    def signals_at(self, positions: np.ndarray) -> np.ndarray:
        return self.data_at(positions)


class _Persistence:
    """Predicts each window's last value: the forecast any model must beat to earn its energy."""

    def predict(self, windows: np.ndarray) -> np.ndarray:
        return np.asarray(windows, dtype=np.float64)[:, -1]


@register
class Forecasting(Task):
    name = "forecasting"
    metric = "R²"
    baseline = "persistence"
    skill_name = "skill"
    error_name = "MAE"
    loss_name = "MSE"
    default_models = ("lstm", "svm", "linear", "persistence")
    default_model = "lstm"
    compared_kinds = ("lstm", "svm", "linear")
    profiles = ("default", "alt", "pems")
    records_are_values = True

    def read_training(self, path: Path) -> np.ndarray:
        from harmone.data.series import read_series

        return read_series(path)

    def read_stream(self, path: Path, config: Config) -> SeriesStream:
        from harmone.data.series import read_series

        values = read_series(path)
        window = config.stream.input_length
        if len(values) <= window:
            raise DataError(f"{path}: {len(values)} values, need more than {window}")
        return SeriesStream(values, window)

    def format_data(self, data: Any) -> str:
        from harmone.data.series import COLUMN, format_values

        return format_values(np.asarray(data, dtype=np.float64), COLUMN)

    def size(self, data: Any) -> int:
        return len(data)

    def newest(self, data: Any, count: int) -> np.ndarray:
        return np.asarray(data, dtype=np.float64)[-count:]

    def to_json(self, data: Any) -> dict[str, Any]:
        return {"values": [float(v) for v in np.asarray(data, dtype=np.float64).tolist()]}

    def from_json(self, raw: Any) -> np.ndarray:
        if not isinstance(raw, dict) or not isinstance(raw.get("values"), list):
            raise ValueError("expected an object with a 'values' list")
        return np.asarray(raw["values"], dtype=np.float64)

    def accuracy(self, true: np.ndarray, predicted: np.ndarray) -> float:
        return r2_score(true, predicted)

    def skill(self, true: np.ndarray, predicted: np.ndarray, previous: np.ndarray) -> float:
        return skill_over_persistence(true, predicted, previous)

    def errors(self, true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        return np.abs(np.asarray(true, dtype=np.float64) - np.asarray(predicted, dtype=np.float64))

    def running_scores(self) -> RunningScores:
        return RunningScores()

    def read_scores(self, scores: Any) -> tuple[float | None, float | None]:
        return scores.r2(), scores.mae()

    def signals(self, data: Any) -> np.ndarray:
        return np.asarray(data, dtype=np.float64)

    def train(self, kind: str, data: Any, config: Config, *, retrain: bool = False, seed: int = 0,
              progress: Any = None, initial: Any = None) -> Any:
        from harmone.training import fit_forecaster

        return fit_forecaster(kind, data, config, retrain=retrain, seed=seed, progress=progress, initial=initial)

    def evaluate(self, model: Any, data: Any, config: Config) -> Evaluation:
        from harmone.training import holdout_windows

        X, y = holdout_windows(data, config)
        if len(y) < 2:
            raise DataError(f"{len(data)} values leave {len(y)} held-out windows; evaluating a model needs at least 2")
        predicted = model.predict(X)
        return Evaluation(loss=float(np.mean((predicted - y) ** 2)), score=r2_score(y, predicted), n_records=len(y))

    def baseline_evaluation(self, data: Any, config: Config) -> Evaluation:
        return self.evaluate(_Persistence(), data, config)

    def min_records(self, config: Config) -> int:
        from harmone.training import min_series_length

        return min_series_length(config.stream.input_length, config.stream.fit_fraction) or 0
