"""Model zoo costs: streaming prediction latency, first training and LSTM retraining time.

Targets (2-core machine): predict_one at most ~5 µs for linear and svm and ~150 µs for the
LSTM; first training of all kinds on a default-sized training set at most ~20 s together;
retraining the LSTM on 1 500 points at most ~7 s.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from harmone.config import Config
from harmone.models import kinds_for, model_class
from harmone.training import train

SERIES_LENGTH = 2880  # ten days of 5-minute readings: the default first-training split
RETRAIN_LENGTH = 1500
STEPS_PER_DAY = 288
WARMUP_CALLS = 2000
TIMED_CALLS = 20000
CALLS_PER_SAMPLE = 100  # timing single sub-microsecond calls would mostly time the timer
SEED = 0


def traffic_series(length: int, seed: int = SEED) -> np.ndarray:
    """Vehicles per 5 minutes: night trough, morning and evening rush, quieter weekends, noise."""
    rng = np.random.default_rng(seed)
    hours = (np.arange(length) % STEPS_PER_DAY) * 24.0 / STEPS_PER_DAY
    day = np.arange(length) // STEPS_PER_DAY
    rush = 180.0 * np.exp(-0.5 * ((hours - 8.0) / 1.2) ** 2) + 220.0 * np.exp(-0.5 * ((hours - 17.5) / 1.5) ** 2)
    daytime = 120.0 * np.clip(np.sin(np.pi * (hours - 5.0) / 17.0), 0.0, None)
    weekend = np.where(day % 7 >= 5, 0.6, 1.0)
    flow = 40.0 + weekend * (daytime + rush) + rng.normal(0.0, 12.0, length)
    return np.clip(flow, 0.0, None)


def _predict_one_us(model: Any, windows: list[list[float]]) -> float:
    """Median per-call time over samples of CALLS_PER_SAMPLE calls, microseconds."""
    predict_one = model.predict_one
    count = len(windows)
    for i in range(WARMUP_CALLS):
        predict_one(windows[i % count])
    samples = []
    for start in range(0, TIMED_CALLS, CALLS_PER_SAMPLE):
        batch = [windows[(start + i) % count] for i in range(CALLS_PER_SAMPLE)]
        began = time.perf_counter_ns()
        for window in batch:
            predict_one(window)
        samples.append((time.perf_counter_ns() - began) / CALLS_PER_SAMPLE / 1000.0)
    return statistics.median(samples)


def run() -> dict[str, Any]:
    config = Config()
    series = traffic_series(SERIES_LENGTH)
    torch_loaded = "torch" in sys.modules
    train_s: dict[str, float] = {}
    holdout_r2: dict[str, float] = {}
    predict_us: dict[str, float] = {}
    window = config.stream.input_length
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds_for("forecasting"):
            version = train(kind, series, config, seed=SEED)
            train_s[kind] = version.train_time_s
            holdout_r2[kind] = version.metrics["holdout_r2"]
            # Time the model as the server holds it: loaded from its saved arrays.
            version.model.save(Path(tmp) / kind)
            served = model_class(kind).load(Path(tmp) / kind)
            width = max(window, version.scaler.context or window)
            raw = np.lib.stride_tricks.sliding_window_view(series[:-1], width)
            windows = version.scaler.encode(raw)[0].tolist()
            predict_us[kind] = _predict_one_us(served, windows)
    retrain = train("lstm", series[-RETRAIN_LENGTH:], config, retrain=True, seed=SEED)
    return {
        "predict_one_us": predict_us,
        "train_s": train_s,
        "train_total_s": sum(train_s.values()),
        "train_includes_torch_import": not torch_loaded,
        "lstm_retrain_s": retrain.train_time_s,
        "lstm_retrain_windows": retrain.metrics["n_fit"],
        "holdout_r2": holdout_r2,
        "series_length": SERIES_LENGTH,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
