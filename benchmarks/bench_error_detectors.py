"""Error-stream detectors (DDM, EDDM) with their default settings: false alarms, delay, misses, cost.

Streams are a classifier's 0/1 errors, Bernoulli draws at a given error rate, one stream
per seed and scenario:

- stationary: 20 000 values at an error rate of 0.05, 0.1, 0.2 or 0.4. Alarms are counted
  as rises of the flag and given per 10 000 values.
- changes: 3 000 values at one error rate, then 3 000 at another (abrupt), or a rate that
  rises linearly over 1 000 values and then holds (gradual). Delay: values from the change
  to the first rise at or after it; a miss when none comes within the 3 000. ``warned``:
  seeds where ``in_warning`` was up on some value from the change to that detection.
- cost: microseconds per value over 20 000 values at an error rate of 0.1, fed one at a
  time with the flag read after each; the median of three repetitions.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from benchmarks.bench_detectors import _rises
from harmone import detectors

SEEDS = tuple(range(20))
STATIONARY = 20_000
STATIONARY_RATES = (0.05, 0.1, 0.2, 0.4)
BEFORE = AFTER = 3_000
#: scenario -> (rate before, rate after, values over which the rate moves from one to the other)
CHANGES = {"0.1_to_0.2": (0.1, 0.2, 0), "0.1_to_0.4": (0.1, 0.4, 0), "0.05_to_0.1": (0.05, 0.1, 0),
           "0.2_to_0.4": (0.2, 0.4, 0), "0.1_to_0.4_over_1000": (0.1, 0.4, 1000)}
COST_VALUES = 20_000


def _errors(rng: np.random.Generator, rates: np.ndarray) -> np.ndarray:
    return (rng.random(rates.size) < rates).astype(np.float64)


def _false_alarms(name: str, rate: float) -> dict[str, Any]:
    per_seed = []
    for seed in SEEDS:
        values = _errors(np.random.default_rng(seed), np.full(STATIONARY, rate))
        per_seed.append(round(len(_rises(name, values)) / STATIONARY * 10_000, 2))
    return {"per_10k_mean": round(statistics.fmean(per_seed), 2), "per_10k_max": max(per_seed),
            "seeds_without_alarm": sum(1 for x in per_seed if x == 0), "per_seed": per_seed}


def _delays(name: str, before: float, after: float, ramp: int) -> dict[str, Any]:
    rates = np.concatenate([np.full(BEFORE, before), np.linspace(before, after, ramp + 1)[1:],
                            np.full(AFTER - ramp, after)])
    delays: list[int | None] = []
    warned = 0
    for seed in SEEDS:
        values = _errors(np.random.default_rng(1000 + seed), rates)
        detector = detectors.make(name)
        warning = False
        delay = None
        for i, value in enumerate(values.tolist()):
            detector.update(value)
            if i < BEFORE:
                continue
            if detector.drift_detected:
                delay = i - BEFORE
                warned += warning
                break
            warning |= detector.in_warning
        delays.append(delay)
    found = [d for d in delays if d is not None]
    return {"min": min(found) if found else None, "median": statistics.median(found) if found else None,
            "max": max(found) if found else None, "misses": len(delays) - len(found), "warned": warned,
            "per_seed": delays}


def _cost_us(name: str) -> float:
    values = _errors(np.random.default_rng(99), np.full(COST_VALUES, 0.1)).tolist()
    runs = []
    for _ in range(3):
        detector = detectors.make(name)
        started = time.perf_counter()
        for value in values:
            detector.update(value).drift_detected
        runs.append(time.perf_counter() - started)
    return round(statistics.median(runs) / COST_VALUES * 1e6, 2)


def run() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in detectors.names():
        if not detectors.detector_class(name).reads_errors:
            continue
        results[name] = {
            "params": dict(detectors.detector_class(name).default_params),
            "false_alarms_stationary": {str(rate): _false_alarms(name, rate) for rate in STATIONARY_RATES},
            "delay": {change: _delays(name, *spec) for change, spec in CHANGES.items()},
            "update_us": _cost_us(name),
        }
    return {"seeds": list(SEEDS), "detectors": results}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
