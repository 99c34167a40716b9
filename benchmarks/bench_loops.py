"""Cost of the managing system: one loop run against a growing log, retraining, a full replay.

Targets (this 2-core machine):

- one switch-loop run (over the ~267 rows logged since the previous run) and one drift
  check, each <= 5 ms and flat from 10 000 to 1 000 000 logged predictions (the original:
  13 ms and 10 ms at 10 000 rows, 145 ms and 57 ms at 200 000);
- retraining the LSTM on 1 500 values with the published hyperparameters <= 7 s (the
  original: 13.7 s); also timed in the child process that live runs use;
- a simulated replay of the whole built-in stream with ``harmone``: well under a minute
  apart from retraining.
"""

from __future__ import annotations

import importlib
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from harmone import lifecycle
from harmone.data.synth import generate
from harmone.config import Config
from harmone.knowledge import KnowledgeStore
from harmone.mape.detection import kl_divergence
from harmone.mape.execute import InlineRetrainer, RetrainRequest, SubprocessRetrainer, retrain_version
from harmone.mape.drift_loop import DriftLoop
from harmone.mape.switch_loop import SwitchLoop
from harmone.runner import run_approach
from harmone.testing import FakeMeter
from harmone.workspace import Workspace

LOG_SIZES = (10_000, 100_000, 1_000_000)
INSERT_BATCH = 100_000
#: Rows logged between two switch-loop runs: 40 s / 0.15 s.
ROWS_PER_SWITCH_RUN = 267
#: Rows logged between two drift checks: 3 s / 0.15 s.
ROWS_PER_DRIFT_CHECK = 20
RUNS = 40


def _workspace(root: Path) -> Workspace:
    workspace, _ = Workspace.init(root)
    text = workspace.config_path.read_text(encoding="utf-8").replace('meter = "auto"', 'meter = "fake"')
    workspace.config_path.write_text(text, encoding="utf-8")
    workspace = Workspace.open(root)
    lifecycle.use_builtin_stream(workspace, seed=0)
    return workspace


def _rows(rng: np.random.Generator, start: int, count: int) -> list[tuple[float, float, float, str, int, float, float]]:
    """Stationary rows (no drift) served by linear, the model ``model.csv`` names."""
    true = rng.normal(200.0, 20.0, count)
    predicted = true + rng.normal(0.0, 5.0, count)
    return [((start + i) * 0.15, float(t), float(p), "linear", 1, 2e-5, 50.0)
            for i, (t, p) in enumerate(zip(true, predicted))]


def _fresh_db(workspace: Workspace) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(workspace.db_path) + suffix).unlink(missing_ok=True)


def _stats_ms(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    return {"median_ms": round(statistics.median(ordered) * 1e3, 3),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1e3, 3)}


def _loop_costs(workspace: Workspace, log_size: int) -> dict[str, Any]:
    _fresh_db(workspace)
    rng = np.random.default_rng(log_size)
    config = workspace.config
    with KnowledgeStore(workspace.db_path) as store:
        for start in range(0, log_size, INSERT_BATCH):
            store.append_predictions(_rows(rng, start, min(INSERT_BATCH, log_size - start)))
        logged = log_size
        switch = SwitchLoop(workspace=workspace, store=store, meter=FakeMeter(), config=config, now=0.0,
                            rng=random.Random(0))
        drift = DriftLoop(workspace=workspace, store=store, meter=FakeMeter(), config=config, now=0.0,
                          retrainer=InlineRetrainer(workspace, config))
        switch_s: list[float] = []
        drift_s: list[float] = []
        decisions: set[str] = set()
        for run in range(RUNS):
            store.append_predictions(_rows(rng, logged, ROWS_PER_SWITCH_RUN))
            logged += ROWS_PER_SWITCH_RUN
            started = time.perf_counter()
            event = switch.run(40.0 * (run + 1))
            switch_s.append(time.perf_counter() - started)
            # The rows since the previous run: this interval's, plus the drift check's 20.
            assert event is not None and event.observed["rows"] >= ROWS_PER_SWITCH_RUN, event
            workspace.write_active_model("linear")  # keep the serving model fixed between runs
            store.append_predictions(_rows(rng, logged, ROWS_PER_DRIFT_CHECK))
            logged += ROWS_PER_DRIFT_CHECK
            started = time.perf_counter()
            event = drift.run(400.0 + 3.0 * run)
            drift_s.append(time.perf_counter() - started)
            assert event is not None
            decisions.add(event.decision)
    return {"switch_run": _stats_ms(switch_s), "drift_check": _stats_ms(drift_s),
            "drift_decisions": sorted(decisions)}


def _lstm_retrain(workspace: Workspace) -> dict[str, float]:
    importlib.import_module("torch")  # up front: the time of interest is training, not importing

    values = generate(seed=1).values[3000:4500]
    request = RetrainRequest("lstm", values, "periodic", 0)
    started = time.perf_counter()
    result = retrain_version(workspace, request, workspace.config)
    in_process_s = time.perf_counter() - started
    # Live runs retrain in a child: add interpreter start and imports.
    started = time.perf_counter()
    job = SubprocessRetrainer(workspace).submit(request)
    while job.poll() is None:
        time.sleep(0.02)
    child_s = time.perf_counter() - started
    return {"values": len(values), "epochs": workspace.config.model_params("lstm", retrain=True)["epochs"],
            "retrain_s": round(in_process_s, 2), "fit_s": round(result.train_time_s, 2),
            "retrain_in_child_process_s": round(child_s, 2)}


def _replay(workspace: Workspace) -> dict[str, Any]:
    _fresh_db(workspace)
    workspace.write_active_model("linear")
    summary = run_approach(workspace, "harmone", seed=0, meter=FakeMeter())
    return {"predictions": summary.predictions, "wall_s": round(summary.wall_time_s, 2),
            "switches": summary.switches, "reuses": summary.reuses, "retrains": summary.retrains,
            "events": len(summary.events)}


def _kl_figures() -> dict[str, float]:
    """Cost of one drift comparison, and how KL behaves on seeded normal windows of 1 200."""
    config = Config()
    window, bins, epsilon = config.drift.window, config.drift.bins, config.drift.epsilon
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.0, 1.0, window), rng.normal(0.0, 1.0, window)
    runs = 2000
    started = time.perf_counter()
    for _ in range(runs):
        kl_divergence(a, b, bins=bins, epsilon=epsilon)
    same = [kl_divergence(rng.normal(0.0, 1.0, window), rng.normal(0.0, 1.0, window), bins=bins, epsilon=epsilon)
            for _ in range(500)]
    shifted = {shift: statistics.median(
        kl_divergence(rng.normal(0.0, 1.0, window), rng.normal(shift, 1.0, window), bins=bins, epsilon=epsilon)
        for _ in range(100)) for shift in (1.0, 2.0)}
    return {"kl_two_windows_us": round((time.perf_counter() - started) / runs * 1e6, 1),
            "kl_same_distribution_median": round(statistics.median(same), 3),
            "kl_same_distribution_p99": round(float(np.percentile(same, 99)), 3),
            "kl_shift_1_sd_median": round(shifted[1.0], 3),
            "kl_shift_2_sd_median": round(shifted[2.0], 3)}


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = _workspace(Path(tmp) / "ws")
        lifecycle.train_initial(workspace, ["linear", "svm"])
        workspace.write_active_model("linear")
        results: dict[str, Any] = {"loops": {}}
        for size in LOG_SIZES:
            results["loops"][str(size)] = _loop_costs(workspace, size)
        results["replay_harmone_linear_svm"] = _replay(workspace)
        results["lstm_retrain_1500"] = _lstm_retrain(workspace)
    results["drift_comparison"] = _kl_figures()
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
