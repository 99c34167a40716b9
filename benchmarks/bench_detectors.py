"""Drift detectors of the series with their default settings: false alarms, detection delay, misses and cost.

Streams (unit-variance Gaussian noise, one stream per seed and scenario):

- stationary: 20 000 values of noise; seasonal: the same plus a sine of amplitude 1.5
  and period 288 values (a day of 5-minute readings). Alarms are counted as rises of the
  flag (a detector whose flag stays up while two windows differ counts once) and given per
  10 000 values.
- changes: 3 000 values of noise, then 3 000 with the level shifted by 1, 2 or 3 standard
  deviations, or with the standard deviation tripled. Delay: values from the change to the
  first rise at or after it; a miss when none comes within the 3 000.
- cost: microseconds per value over 20 000 values, the flag read every 20 values as the
  drift loop does, fed one at a time (``update``) and in batches of 20 (``update_many``),
  and fed one at a time without reading the flag (``update_only``); the median of three
  repetitions.

Every value's flag is read for the detection figures, so the windowed KL computes its
divergence once per value here (the drift loop computes it once per check).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np

from harmone import detectors

SEEDS = tuple(range(10))
STATIONARY = 20_000
BEFORE = AFTER = 3_000
CHANGES = {"shift_1_sd": (1.0, 1.0), "shift_2_sd": (2.0, 1.0), "shift_3_sd": (3.0, 1.0), "sd_x3": (0.0, 3.0)}
SEASON_PERIOD = 288
SEASON_AMPLITUDE = 1.5
CHECK_EVERY = 20
COST_VALUES = 20_000


def _rises(name: str, values: np.ndarray) -> list[int]:
    detector = detectors.make(name)
    rises, previous = [], False
    for i, value in enumerate(values.tolist()):
        flag = detector.update(value).drift_detected
        if flag and not previous:
            rises.append(i)
        previous = flag
    return rises


def _false_alarms(name: str, seasonal: bool) -> dict[str, Any]:
    per_seed = []
    for seed in SEEDS:
        values = np.random.default_rng(seed).normal(0.0, 1.0, STATIONARY)
        if seasonal:
            values += SEASON_AMPLITUDE * np.sin(2 * np.pi * np.arange(STATIONARY) / SEASON_PERIOD)
        per_seed.append(round(len(_rises(name, values)) / STATIONARY * 10_000, 2))
    return {"per_10k_mean": round(statistics.fmean(per_seed), 2), "per_10k_max": max(per_seed),
            "per_seed": per_seed}


def _delays(name: str, level: float, sd: float) -> dict[str, Any]:
    delays: list[int | None] = []
    for seed in SEEDS:
        rng = np.random.default_rng(1000 + seed)
        values = np.concatenate([rng.normal(0.0, 1.0, BEFORE), rng.normal(level, sd, AFTER)])
        after = [i - BEFORE for i in _rises(name, values) if i >= BEFORE]
        delays.append(after[0] if after else None)
    found = [d for d in delays if d is not None]
    return {"median": statistics.median(found) if found else None, "max": max(found) if found else None,
            "misses": len(delays) - len(found), "per_seed": delays}


def _cost_us(name: str) -> dict[str, float]:
    values = np.random.default_rng(99).normal(0.0, 1.0, COST_VALUES)
    as_floats = values.tolist()
    one, batched, bare = [], [], []
    for _ in range(3):
        detector = detectors.make(name)
        started = time.perf_counter()
        for value in as_floats:
            detector.update(value)
        bare.append(time.perf_counter() - started)
        detector = detectors.make(name)
        started = time.perf_counter()
        for i, value in enumerate(as_floats):
            detector.update(value)
            if i % CHECK_EVERY == CHECK_EVERY - 1:
                detector.drift_detected
        one.append(time.perf_counter() - started)
        detector = detectors.make(name)
        started = time.perf_counter()
        for start in range(0, COST_VALUES, CHECK_EVERY):
            detector.update_many(values[start:start + CHECK_EVERY])
            detector.drift_detected
        batched.append(time.perf_counter() - started)
    return {"update_us": round(statistics.median(one) / COST_VALUES * 1e6, 2),
            "update_many_20_us": round(statistics.median(batched) / COST_VALUES * 1e6, 2),
            "update_only_us": round(statistics.median(bare) / COST_VALUES * 1e6, 2)}


def run() -> dict[str, Any]:
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    for name in detectors.names():
        if detectors.detector_class(name).reads_errors:
            continue  # they read a classifier's 0/1 errors: bench_error_detectors.py
        results[name] = {
            "params": dict(detectors.detector_class(name).default_params),
            "false_alarms_stationary": _false_alarms(name, seasonal=False),
            "false_alarms_seasonal": _false_alarms(name, seasonal=True),
            "delay": {change: _delays(name, level, sd) for change, (level, sd) in CHANGES.items()},
            "cost": _cost_us(name),
        }
    load_after = os.getloadavg()
    return {"seeds": list(SEEDS), "machine_load_1m": {"before": round(load_before[0], 2),
                                                      "after": round(load_after[0], 2)},
            "detectors": results}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
