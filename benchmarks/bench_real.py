"""Forecast accuracy on public real series and the built-in streams: new defaults vs published constants.

For each series every model kind is trained on the leading part as a workspace would
(``harmone.training.train``: fit on 80 %, hold out the rest) and then predicts the test part
one step at a time, with the series so far as history. Reported per kind and setting:
held-out R², skill over persistence (``1 - SSE / SSE_persistence``) and fit time, over
``RUNS`` runs (as [min, max]); for Ridge and the SVR also each default choice on its own
(``ABLATIONS``) (the seed drives the LSTM and the built-in streams). The public series are
short, so they are split at ``PUBLIC_TRAIN_RATIO``; the built-in streams use their default
split and the first ``SYNTH_TEST`` test values.

Target (issue "Done when"): every learned kind's R² at least persistence's on every series
with the defaults; ``below_persistence`` names the series and kinds where it is not.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from benchmarks import public_series
from harmone.config import Config
from harmone.data.synth import generate
from harmone.metrics import r2_score, skill_over_persistence
from harmone.models import kinds, published_models
from harmone.repository import ServingModel
from harmone.training import train

RUNS = 3
PUBLIC_TRAIN_RATIO = 0.5
SYNTH_PROFILES = ("default", "alt", "pems")
SYNTH_TEST = 6000
LEARNED = ("linear", "svm", "lstm")
SETTINGS = {"default": Config(), "published": Config(models=published_models({}))}
#: Ablations for the cheap kinds: each default choice alone (representation, validated strength).
ABLATIONS = {
    "relative-fixed": Config(models={"linear": {"select": "fixed"}, "svm": {"select": "fixed", "tol": 0.16}}),
    "minmax-validated": Config(models={"linear": {"inputs": "minmax"}, "svm": {"inputs": "minmax"}}),
}
ABLATED = ("linear", "svm")


def load_series(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Name -> (training part, test part)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in public_series.names():
        values = public_series.load(name)
        cut = int(len(values) * PUBLIC_TRAIN_RATIO)
        out[name] = (values[:cut], values[cut:])
    for profile in SYNTH_PROFILES:
        stream = generate(seed=seed, profile=profile)
        out[f"synth-{profile}"] = (np.asarray(stream.train), np.asarray(stream.test)[:SYNTH_TEST])
    return out


def evaluate(kind: str, config: Config, train_part: np.ndarray, test_part: np.ndarray,
             seed: int) -> dict[str, Any]:
    """Train on ``train_part``, predict every test value after the first window."""
    window = config.stream.input_length
    version = train(kind, train_part, config, seed=seed)
    history = np.concatenate([train_part, test_part])
    start = len(train_part) + window
    context = max(window, version.scaler.context or window)
    windows = np.lib.stride_tricks.sliding_window_view(history[:-1], context)[start - context:]
    predicted = ServingModel(kind, 1, version.model, version.scaler).predict(windows)
    actual, last = history[start:], history[start - 1:-1]
    return {"r2": r2_score(actual, predicted), "skill": skill_over_persistence(actual, predicted, last),
            "fit_s": version.train_time_s, "selected": version.metrics.get("selected", {}),
            "context": version.metrics.get("context")}


def _span(values: list[float]) -> list[float]:
    return [round(min(values), 4), round(max(values), 4)]


def run() -> dict[str, Any]:
    load_before = os.getloadavg()
    started = time.perf_counter()
    raw: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
    persistence_r2: dict[str, list[float]] = {}
    sizes: dict[str, list[int]] = {}
    for seed in range(RUNS):
        for name, (train_part, test_part) in load_series(seed).items():
            sizes[name] = [len(train_part), len(test_part)]
            for kind in kinds():
                settings = {**SETTINGS, **ABLATIONS} if kind in ABLATED else SETTINGS
                for setting, config in settings.items():
                    result = evaluate(kind, config, train_part, test_part, seed)
                    raw.setdefault(name, {}).setdefault(kind, {}).setdefault(setting, []).append(result)
            window = SETTINGS["default"].stream.input_length
            history = np.concatenate([train_part, test_part])
            start = len(train_part) + window
            persistence_r2.setdefault(name, []).append(r2_score(history[start:], history[start - 1:-1]))
    series: dict[str, Any] = {}
    below: dict[str, list[str]] = {}
    for name, by_kind in raw.items():
        entry: dict[str, Any] = {"n_train": sizes[name][0], "n_test": sizes[name][1],
                                 "persistence_r2": _span(persistence_r2[name]), "models": {}}
        for kind, by_setting in by_kind.items():
            entry["models"][kind] = {
                setting: {"r2": _span([r["r2"] for r in runs]), "skill": _span([r["skill"] for r in runs]),
                          "fit_s": _span([r["fit_s"] for r in runs]), "selected": runs[-1]["selected"],
                          "context": runs[-1]["context"]}
                for setting, runs in by_setting.items()}
            losing = any(r["skill"] < 0 for r in by_setting["default"])
            if kind in LEARNED and losing:
                below.setdefault(name, []).append(kind)
        series[name] = entry
    return {
        "runs": RUNS,
        "public_train_ratio": PUBLIC_TRAIN_RATIO,
        "synth_test_values": SYNTH_TEST,
        "series": series,
        "below_persistence": below,
        "load_avg": {"before": [round(x, 2) for x in load_before],
                     "after": [round(x, 2) for x in os.getloadavg()]},
        "wall_s": round(time.perf_counter() - started, 1),
    }
