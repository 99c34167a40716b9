"""Drift adaptation on the built-in streams: what watching costs, what it finds, what answers it.

Every run is a seeded simulated harmone run (``run_approach``, fake meter) on a built-in
stream (profiles default, alt and pems, seeds 0-4; linear and svm trained, linear serving
first), whose regimes give the ground truth: a change point at the start of every regime
after the first.

- ``monitoring``: per way of watching (detector, trigger, schedule), the drift loop's
  runs, its CPU time per prediction spent watching (the runs that found no drift: read,
  feed, judge, state, event; ``time.process_time``, the estimator's input on a machine
  without RAPL; runs that answered a drift are reported apart as ``acting_cpu_s``), detection
  delay in values from each change point to the first detection at or after it (a miss
  when none comes before the next change or the end), and false alarms (every further
  detection in a regime, and any before the first change).
- ``answers``: the same runs with today's drift answers (whole window, the target kind's versions) against the new ones (regime
  split, reuse across kinds, persistence in validation, counted keeps): how the return to
  the training regime was answered (reuse or keep: an existing version; retrain: a new one)
  and the run's R² and counts.
- ``change_points``: at each published detection, the share of the drift window that is
  the old regime, before and after cutting it at the located change point.
- ``warm_start``: an LSTM trained on the training regime is retrained on 1 200 values of
  the next regime from scratch (the retraining settings) and by fine-tuning it for
  ``retrain.warm_epochs``: CPU seconds, and R² on the 1 200 values that follow.
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


from harmone import lifecycle
from harmone.config import Config
from harmone.data.synth import generate
from harmone.experiment import prepare_copy
from harmone.knowledge.events import KEEP_DECISIONS, Decision
from harmone.mape import drift_loop, execute
from harmone.runner import run_approach
from harmone.testing import FakeMeter
from harmone.workspace import Workspace

PROFILES = ("default", "alt", "pems")
SEEDS = tuple(range(5))
WARM_SEEDS = tuple(range(3))
#: Graded waits measured: (at most this many checks, below this share of the threshold).
GRADED = ((8, 0.4), (16, 0.4), (16, 0.5), (24, 0.5), (32, 0.5), (64, 0.5))
#: Ways of watching: [drift] settings over the defaults (feed values, window-kl, validation).
MONITORING: dict[str, dict[str, Any]] = {
    "published: window-kl every check": {"trigger": "none", "quiet_every": 1},
    **{f"window-kl, graded wait up to {every} checks below {below} x threshold":
       {"trigger": "none", "quiet_every": every, "quiet_below": below} for every, below in GRADED},
    "window-kl on the served errors, graded wait up to 24 checks below 0.5 x threshold":
        {"trigger": "none", "feed": "errors", "quiet_every": 24, "quiet_below": 0.5},
    **{f"{trigger} trigger on errors, quiet: every 4th check":
       {"trigger": trigger, "trigger_feed": "errors", "quiet_every": 4} for trigger in ("page-hinkley", "cusum")},
}
PUBLISHED_ANSWERS = {"split_regime": False, "reuse_scope": "target", "beat_persistence": False, "quiet_every": 1}
NEW_ANSWERS = {"split_regime": True, "reuse_scope": "all", "beat_persistence": True}
ANSWERS: dict[str, dict[str, Any]] = {
    "today's answers": {**PUBLISHED_ANSWERS, "trigger": "none"},
    "new answers": {**NEW_ANSWERS, "trigger": "none", "quiet_every": 1},
    "new defaults (new answers, graded wait up to 24 checks below 0.5)": {**NEW_ANSWERS, "trigger": "none",
                                                                     "quiet_every": 24, "quiet_below": 0.5},
}


class _Watch:
    """CPU seconds of the drift loop's runs that found no drift (watching), and of the others."""

    def __init__(self) -> None:
        self.loop_s = self.acting_s = self.retrain_s = 0.0
        self.runs = 0

    def __enter__(self) -> _Watch:
        self._run, self._retrain = drift_loop.DriftLoop.run, execute.retrain_version
        watch = self

        def run(loop: Any, now: float) -> Any:
            started, retrained = time.process_time(), watch.retrain_s
            event = watch._run(loop, now)
            spent = time.process_time() - started - (watch.retrain_s - retrained)
            watch.runs += 1
            if event is None or event.drift_detected:
                watch.acting_s += spent  # answering a drift, not watching
            else:
                watch.loop_s += spent
            return event

        def retrain(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return watch._retrain(*args, **kwargs)
            finally:
                watch.retrain_s += time.process_time() - started

        drift_loop.DriftLoop.run = run  # type: ignore[method-assign]
        execute.retrain_version = retrain
        return self

    def __exit__(self, *exc: object) -> None:
        drift_loop.DriftLoop.run = self._run  # type: ignore[method-assign]
        execute.retrain_version = self._retrain


def _base(root: Path, profile: str, seed: int) -> tuple[Workspace, list[int]]:
    """A workspace on the stream, linear and svm trained; change points as prediction indices."""
    stream = generate(seed=seed, profile=profile)
    workspace, _ = Workspace.init(root)
    workspace = Workspace.open(root)
    lifecycle.use_series(workspace, stream.values)
    lifecycle.train_initial(workspace, ["linear", "svm"])
    offset = stream.train_steps + workspace.config.stream.input_length
    return workspace, [regime.start - offset for regime in stream.regimes[1:]]


def _run(base: Workspace, root: Path, drift: dict[str, Any], seed: int) -> tuple[Any, _Watch]:
    config: Config = base.config
    config = config.replace(drift=dataclasses.replace(config.drift, **drift))
    workspace = prepare_copy(base, root, config)
    workspace.write_active_model("linear")
    with _Watch() as watch:
        result = run_approach(workspace, "harmone", seed=seed, meter=FakeMeter())
    return result, watch


def _detections(result: Any, interval_s: float) -> list[int]:
    """Prediction indices of the drift loop's detections."""
    return [round(e.time_s / interval_s) for e in result.events if e.loop == "drift" and e.drift_detected]


def _score(found: list[int], changes: list[int], end: int) -> dict[str, Any]:
    bounds = changes + [end]
    delays, missed = [], 0
    false_alarms = sum(1 for t in found if t < changes[0])
    for start, stop in zip(bounds, bounds[1:]):
        inside = [t for t in found if start <= t < stop]
        if inside:
            delays.append(inside[0] - start)
            false_alarms += len(inside) - 1
        else:
            missed += 1
    return {"delays": delays, "missed": missed, "false_alarms": false_alarms}


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    delays = [d for row in rows for d in row["delays"]]
    watch = [row["watch_cpu_us"] for row in rows]
    return {
        "runs": len(rows),
        "watch_cpu_us_per_prediction_median": round(statistics.median(watch), 3),
        "watch_cpu_us_per_prediction_range": [round(min(watch), 3), round(max(watch), 3)],
        "checks_per_run_median": statistics.median(row["checks"] for row in rows),
        "delay_values_median": statistics.median(delays) if delays else None,
        "delay_values_range": [min(delays), max(delays)] if delays else None,
        "changes": sum(len(row["delays"]) + row["missed"] for row in rows),
        "missed": sum(row["missed"] for row in rows),
        "false_alarms": sum(row["false_alarms"] for row in rows),
    }


def _paired(rows: list[dict[str, Any]], published: list[dict[str, Any]]) -> dict[str, Any]:
    """Watching energy and delay against the published check on the same stream and seed."""
    ratios = [row["watch_cpu_us"] / base["watch_cpu_us"] for row, base in zip(rows, published)]
    later = [d - b for row, base in zip(rows, published) for d, b in zip(row["delays"], base["delays"])]
    return {"watch_vs_published_median": round(statistics.median(ratios), 3),
            "watch_vs_published_range": [round(min(ratios), 3), round(max(ratios), 3)],
            "delay_vs_published_values_range": [min(later), max(later)] if later else None}


def _return_answer(result: Any, return_at: int, interval_s: float) -> str:
    """How the first drift answered after the return to the training regime was answered."""
    for event in result.events:
        if event.loop != "drift" or not event.drift_detected or event.time_s / interval_s < return_at:
            continue
        if event.decision is Decision.REUSE:
            return "reuse"
        if event.decision in KEEP_DECISIONS:
            return "keep"
        return "retrain"
    return "no-detection"


def _monitoring_and_answers(tmp: Path) -> dict[str, Any]:
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in MONITORING}
    answers: dict[str, list[dict[str, Any]]] = {name: [] for name in ANSWERS}
    for profile in PROFILES:
        for seed in SEEDS:
            base, changes = _base(tmp / f"base-{profile}-{seed}", profile, seed)
            interval = base.config.stream.interval_s
            for name, drift in MONITORING.items():
                result, watch = _run(base, tmp / "run", drift, seed)
                watch_us = watch.loop_s * 1e6 / result.predictions
                rows[name].append({"profile": profile, "seed": seed, "checks": watch.runs,
                                   "watch_cpu_us": watch_us, "acting_cpu_s": round(watch.acting_s, 4),
                                   **_score(_detections(result, interval), changes, result.predictions)})
            for name, drift in ANSWERS.items():
                result, _ = _run(base, tmp / "run", drift, seed)
                answers[name].append({"profile": profile, "seed": seed, "r2": result.r2,
                                      "return": _return_answer(result, changes[-1], interval),
                                      "reuses": result.reuses, "keeps": result.keeps, "retrains": result.retrains,
                                      "retraining_energy_uj": result.retraining_energy_uj})
            shutil.rmtree(base.root)
    published = rows[next(iter(MONITORING))]
    monitoring = {name: {**_summary(r), **_paired(r, published), "per_run": r} for name, r in rows.items()}
    return {"monitoring": monitoring, "answers": {name: _answers_summary(a) for name, a in answers.items()}}


def _answers_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    returns = [row["return"] for row in rows]
    r2 = [row["r2"] for row in rows]
    return {"runs": len(rows), "return_answered_by": {k: returns.count(k) for k in sorted(set(returns))},
            "r2_median": round(statistics.median(r2), 4), "r2_range": [round(min(r2), 4), round(max(r2), 4)],
            "reuses": sum(row["reuses"] for row in rows), "keeps": sum(row["keeps"] for row in rows),
            "retrains": sum(row["retrains"] for row in rows), "per_run": rows}


def _warm_start(tmp: Path) -> dict[str, Any]:
    from harmone.data.windowing import make_windows
    from harmone.metrics import r2_score
    from harmone.repository import ServingModel
    from harmone.training import train

    rows = []
    for profile in PROFILES:
        for seed in WARM_SEEDS:
            stream = generate(seed=seed, profile=profile)
            workspace, _ = Workspace.init(tmp / f"warm-{profile}-{seed}")
            config = workspace.config
            first = train("lstm", stream.train, config, seed=seed)
            start = stream.regimes[1].start + 300
            data, future = stream.values[start:start + 1200], stream.values[start + 1200:start + 2400]
            X, y = make_windows(future, config.stream.input_length)
            row: dict[str, Any] = {"profile": profile, "seed": seed}
            for name, initial in (("scratch", None), ("warm", first.model)):
                cfg = config.replace(retrain=dataclasses.replace(config.retrain, warm_start=initial is not None))
                started = time.process_time()
                fitted = train("lstm", data, cfg, retrain=True, seed=seed, initial=initial)
                row[f"{name}_cpu_s"] = round(time.process_time() - started, 3)
                predicted = ServingModel("lstm", 0, fitted.model, fitted.scaler).predict(X)
                row[f"{name}_r2"] = round(r2_score(y, predicted), 4)
            rows.append(row)
            shutil.rmtree(workspace.root)

    def stat(key: str) -> dict[str, float]:
        values = [row[key] for row in rows]
        return {"median": round(statistics.median(values), 4), "min": min(values), "max": max(values)}

    return {"runs": len(rows), **{key: stat(key) for key in ("scratch_cpu_s", "warm_cpu_s", "scratch_r2", "warm_r2")},
            "per_run": rows}


def change_points(monitoring: dict[str, Any]) -> dict[str, Any]:
    """How much of the drift data is the old regime at the published detections, before and after the split."""
    import numpy as np

    from harmone.detectors.change_point import locate_change

    window = 1200
    before, after, errors = [], [], []
    for row in next(iter(monitoring.values()))["per_run"]:
        stream = generate(seed=row["seed"], profile=row["profile"])
        for regime, delay in zip(stream.regimes[1:], row["delays"]):
            values = stream.values[regime.start + delay - window:regime.start + delay]
            old = max(0, window - delay)
            split = locate_change(values, window // 4)
            kept = split or 0
            before.append(old / window)
            after.append(max(0, old - kept) / (window - kept))
            if split is not None:
                errors.append(split - old)

    def stat(values: list[float]) -> dict[str, float]:
        return {"median": round(float(np.median(values)), 3), "min": round(min(values), 3),
                "max": round(max(values), 3)}

    return {"windows": len(before), "located": len(errors), "old_share_before": stat(before),
            "old_share_after": stat(after), "split_error_values": stat([float(e) for e in errors]),
            "split_abs_error_values_median": float(np.median(np.abs(errors))) if errors else None}


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        results = _monitoring_and_answers(Path(tmp))
        results["change_points"] = change_points(results["monitoring"])
        results["warm_start"] = _warm_start(Path(tmp))
    return results


if __name__ == "__main__":  # quick look: one profile, one seed
    import json

    PROFILES, SEEDS, WARM_SEEDS = ("default",), (0,), (0,)
    print(json.dumps({k: v for k, v in run().items()}, indent=1, default=str)[:6000])
