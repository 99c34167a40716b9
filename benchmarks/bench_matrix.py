"""The matrix at scale: 1,000 cells with the model meter, and cells per minute by executor.

Two parts (``python -m benchmarks matrix``):

- throughput: the same small matrix (2 streams x 3 seeds) in a fresh output directory
  with 1 local worker, 2 local workers, and a local Dask cluster of 2 single-thread worker
  processes; cells per minute and the cluster's start-up time;
- scale (``HARMONE_BENCH_SCALE=1``): 100 seeds x 10 shorter streams (the three built-in
  profiles, six public series, one CSV) = 1,000 cells, every approach, model meter, all
  cores; its wall time and cells per minute.

Cells are shortened so the matrix fits the hour on two cores: ``STEPS`` predictions per
approach and LSTM training of ``EPOCHS`` epochs (the config every cell starts from).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from harmone import config as config_mod
from harmone.approaches import APPROACHES
from harmone.matrix import CellOptions, load_cells, run_matrix
from harmone.matrix.spec import cells
from harmone.report.matrix import aggregate

STEPS = 800
EPOCHS = 2
THROUGHPUT_STREAMS = ["default", "co2"]
THROUGHPUT_SEEDS = [0, 1, 2]
SCALE_STREAMS = ["default", "alt", "pems", "co2", "elnino", "sunspots", "cpi", "unemp", "nile"]
SCALE_SEEDS = list(range(100))


def short_config() -> str:
    text = config_mod.render(config_mod.Config())
    return text.replace("epochs = 50", f"epochs = {EPOCHS}", 1)


def _options() -> CellOptions:
    return CellOptions(approaches=tuple(APPROACHES), steps=STEPS, meter="model", config_text=short_config())


def _csv_stream(directory: Path) -> str:
    """A CSV stream: the 'alt' built-in stream of seed 1000, written as a user's file would be."""
    from harmone.data.series import write_series
    from harmone.data.synth import generate

    path = directory / "alt-seed1000.csv"
    write_series(path, generate(seed=1000, profile="alt").values[:8000])
    return str(path)


def throughput(workers: int | None = None, cluster: Any = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        todo = cells(THROUGHPUT_STREAMS, THROUGHPUT_SEEDS)
        started = time.perf_counter()
        run = run_matrix(todo, _options(), Path(tmp), workers=workers,
                         cluster=cluster.scheduler_address if cluster is not None else None)
        wall = time.perf_counter() - started
    return {"cells": len(todo), "failed": run.failed, "wall_s": round(wall, 1),
            "cells_per_minute": round(len(todo) * 60 / wall, 2)}


def dask_throughput() -> dict[str, Any]:
    try:
        from distributed import LocalCluster
    except ImportError:
        return {"skipped": "Dask distributed is not installed (pip install 'harmone[cluster]')"}
    started = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        startup_s = time.perf_counter() - started
        result = throughput(cluster=cluster)
    return {"startup_s": round(startup_s, 2), **result}


def _noop(x: int) -> int:
    return x


def engine_overheads(tasks: int = 500) -> dict[str, Any]:
    """Start-up of a local 2-worker cluster and per-task overhead (no-op tasks), Dask and Ray."""
    out: dict[str, Any] = {}
    try:
        from distributed import Client, LocalCluster

        started = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            startup = time.perf_counter() - started
            client.gather(client.map(_noop, range(10), pure=False))
            began = time.perf_counter()
            client.gather(client.map(_noop, range(tasks), pure=False))
            per_task = (time.perf_counter() - began) / tasks
        out["dask"] = {"startup_s": round(startup, 2), "per_task_ms": round(per_task * 1e3, 3)}
    except ImportError:
        out["dask"] = {"skipped": "not installed"}
    try:
        import ray

        started = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        startup = time.perf_counter() - started
        remote = ray.remote(_noop)
        ray.get([remote.remote(i) for i in range(10)])
        began = time.perf_counter()
        ray.get([remote.remote(i) for i in range(tasks)])
        per_task = (time.perf_counter() - began) / tasks
        ray.shutdown()
        out["ray"] = {"startup_s": round(startup, 2), "per_task_ms": round(per_task * 1e3, 3)}
    except ImportError:
        out["ray"] = {"skipped": "not installed"}
    return out


def order_check(steps: int = 4000) -> dict[str, Any]:
    """One stream, approaches run forwards and backwards, measured meter (after the warm-up) and
    model meter: each approach's energy per prediction in both orders and their relative gap."""
    from harmone import experiment, lifecycle
    from harmone.energy.model import ModelMeter, load_energy_model
    from harmone.workspace import Workspace

    order = ["single-svm+retrain", "harmone", "switch", "single-linear+retrain"]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workspace, _ = Workspace.init(Path(tmp) / "ws")
        workspace.config_path.write_text(short_config(), encoding="utf-8")
        workspace = Workspace.open(workspace.root)
        lifecycle.use_builtin_stream(workspace, seed=0)
        lifecycle.train_initial(workspace, lifecycle.parse_kinds(None))
        lifecycle.calibrate_energy(workspace)
        for meter_name in ("measured", "model"):
            per_order = []
            for label, approaches in (("forward", order), ("backward", order[::-1])):
                meter = ModelMeter(load_energy_model()) if meter_name == "model" else None
                runs = experiment.run_experiment(workspace, Path(tmp) / f"{meter_name}-{label}", approaches=approaches,
                                                 steps=steps, seed=0, meter=meter)
                per_order.append({r.summary.approach: (r.summary.inference_energy_uj
                                                       + r.summary.adaptation_energy_uj) / r.summary.predictions
                                  for r in runs})
            out[meter_name] = {name: {"forward_uj": round(per_order[0][name], 2),
                                      "backward_uj": round(per_order[1][name], 2),
                                      "relative_gap": round(abs(per_order[0][name] - per_order[1][name])
                                                            / per_order[0][name], 4)} for name in order}
    return out


def scale(out_dir: Path) -> dict[str, Any]:
    streams = [*SCALE_STREAMS, _csv_stream(out_dir)]
    todo = cells(streams, SCALE_SEEDS)
    started = time.perf_counter()
    run = run_matrix(todo, _options(), out_dir, workers=os.cpu_count())
    wall = time.perf_counter() - started
    from harmone.report.matrix_files import write_matrix_report

    records = load_cells(out_dir, todo)
    write_matrix_report(records, out_dir, extra={"wall_s": round(wall, 1), "failed": run.failed})
    report = aggregate(records)
    return {"cells": len(todo), "ran": len(run.ran), "skipped": len(run.skipped), "failed": run.failed,
            "wall_s": round(wall, 1), "cells_per_minute": round(len(run.ran) * 60 / wall, 2) if run.ran else None,
            "regret": [{k: r[k] for k in ("approach", "mean_regret", "worst_regret", "worst_stream")}
                       for r in report["regret"]], "claims": report["claims"]}


def run_scale_to_file(out_dir: Path, result_path: Path) -> None:
    """The 1,000-cell run alone, its figures written to ``result_path`` (docs/benchmarks.md)."""
    import json

    started = time.time()
    document = {"steps": STEPS, "lstm_epochs": EPOCHS, "cores": os.cpu_count(), "load_before": os.getloadavg(),
                "scale": scale(out_dir), "load_after": os.getloadavg(), "started_unix": started}
    result_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def run() -> dict[str, Any]:
    results: dict[str, Any] = {"steps": STEPS, "lstm_epochs": EPOCHS,
                               "one_worker": throughput(workers=1), "two_workers": throughput(workers=2),
                               "dask_local_cluster": dask_throughput(), "engines": engine_overheads(),
                               "run_order": order_check()}
    if os.environ.get("HARMONE_BENCH_SCALE"):
        out = Path(os.environ.get("HARMONE_BENCH_SCALE_DIR") or tempfile.mkdtemp(prefix="harmone-scale-"))
        results["scale"] = scale(out)
    return results


if __name__ == "__main__":
    import sys

    run_scale_to_file(Path(sys.argv[1]), Path(sys.argv[2]))
