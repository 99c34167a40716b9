"""What an SVR retraining costs with each solver, and with a warm start that keeps C.

For the built-in profiles (seeds 0-2, a retraining window every 6,000 steps) and the public
real series (their newest ``retrain.training_values`` values, or all of them when shorter),
the default SVR is retrained three ways: libsvm with C chosen by validation (the earlier
default), liblinear with C chosen by validation (the default now), and liblinear keeping
the C the first training chose (``retrain.warm_start``). Reported: CPU seconds of the
retraining (process time, median of 3) and the held-out R² of each, and the spread of the
R² differences. Process time depends on host load; the R² do not.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from benchmarks import public_series
from harmone.config import Config
from harmone.data.synth import generate
from harmone.training import train

PROFILES = ("default", "alt", "pems")
SEEDS = range(3)
REPEATS = 3


def _windows(config: Config) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, data of the first training, a later retraining window)."""
    size = config.retrain.training_values
    out = []
    for profile in PROFILES:
        for seed in SEEDS:
            stream = generate(seed=seed, profile=profile)
            for end in range(size + 6000, len(stream.values), 6000):
                out.append((f"{profile}-{seed}@{end}", stream.train, stream.values[end - size:end]))
    for name in public_series.names():
        values = public_series.load(name)
        half = len(values) // 2
        out.append((name, values[:half], values[-min(size, len(values) - half):]))
    return out


def _fit(kind_config: Config, data: np.ndarray, initial: Any = None) -> tuple[float, float]:
    times, r2 = [], 0.0
    for _ in range(REPEATS):
        started = time.process_time()
        trained = train("svm", data, kind_config, retrain=True, initial=initial)
        times.append(time.process_time() - started)
        r2 = float(trained.metrics["holdout_r2"])
    return statistics.median(times), r2


def run() -> dict[str, Any]:
    base = Config()  # retrain.warm_start is on: given an initial model, a retraining keeps its C
    libsvm = base.replace(models={"svm": {"solver": "libsvm"}})
    train("svm", generate(seed=0).train, base)  # imports and first calls, outside the timings
    rows = []
    for name, first, window in _windows(base):
        initial = train("svm", first, base).model
        cpu_libsvm, r2_libsvm = _fit(libsvm, window)
        cpu_liblinear, r2_liblinear = _fit(base, window)
        cpu_warm, r2_warm = _fit(base, window, initial)
        rows.append({"window": name, "cpu_s": {"libsvm": cpu_libsvm, "liblinear": cpu_liblinear, "warm": cpu_warm},
                     "holdout_r2": {"libsvm": r2_libsvm, "liblinear": r2_liblinear, "warm": r2_warm}})

    def spread(values: list[float]) -> dict[str, float]:
        return {"min": min(values), "median": statistics.median(values), "max": max(values)}

    return {
        "windows": rows,
        "cpu_s": {way: spread([r["cpu_s"][way] for r in rows]) for way in ("libsvm", "liblinear", "warm")},
        "speedup_over_libsvm": {way: spread([r["cpu_s"]["libsvm"] / max(r["cpu_s"][way], 1e-9) for r in rows])
                                for way in ("liblinear", "warm")},
        "r2_minus_libsvm": {way: spread([r["holdout_r2"][way] - r["holdout_r2"]["libsvm"] for r in rows])
                            for way in ("liblinear", "warm")},
    }
