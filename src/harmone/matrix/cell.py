"""One cell of a matrix: a stream and a seed, every approach, one results file.

A cell builds its own workspace in a scratch directory (stream for the seed, every kind
trained with the seed), runs the approaches side by side (``harmone.experiment``) and
writes ``cells/<id>.json`` atomically: a file that exists is a finished cell, so a
rerun skips it. Everything a report compares is in ``approaches``; wall times and
latencies, which no two runs share, are kept apart under ``timing``.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


from harmone.matrix.spec import Cell

#: Sub-directory of the output directory with one results file per finished cell.
CELLS_DIR = "cells"
#: Keys of a cell file that vary from run to run (wall time): left out of comparisons.
TIMING_KEY = "timing"


@dataclass(frozen=True)
class CellOptions:
    """What every cell of a matrix shares (picklable: it travels to pool and cluster workers)."""

    approaches: tuple[str, ...]
    steps: int | None = None
    #: "model" (deterministic, from ``energy_model``) or "measured" (the workspace's meter).
    meter: str = "model"
    energy_model: str | None = None
    #: The config.toml text every cell's workspace starts from (None: the defaults).
    config_text: str | None = None
    published_constants: bool = False


def cell_path(out_dir: Path, cell: Cell) -> Path:
    return Path(out_dir) / CELLS_DIR / f"{cell.id}.json"


def _workspace(root: Path, cell: Cell, options: CellOptions) -> Any:
    from harmone import atomic, lifecycle
    from harmone.matrix.streams import SERIES_TRAIN_RATIO, resolve
    from harmone.workspace import Workspace

    workspace, _ = Workspace.init(root)
    if options.config_text is not None:
        atomic.write_text(workspace.config_path, options.config_text)
        workspace = Workspace.open(root)
    source = resolve(cell.stream)
    workspace.use_task(source.task)
    if source.kind == "builtin":
        lifecycle.use_builtin_stream(workspace, seed=cell.seed, profile=cell.stream)
    elif source.kind == "digits":
        from harmone.data.digits import generate

        stream = generate(None, cell.seed, train_ratio=workspace.config.stream.train_ratio)
        lifecycle.use_labelled(workspace, stream.train, stream.test)
    elif source.kind == "labelled":
        from harmone.data.labelled import split_labelled

        need = workspace.config.task.min_records(workspace.config)
        train, test = split_labelled(source.values, SERIES_TRAIN_RATIO, min_train=need, min_test=1)
        lifecycle.use_labelled(workspace, train, test)
    else:
        lifecycle.use_series(workspace, source.values, train_ratio=SERIES_TRAIN_RATIO)
    lifecycle.train_initial(workspace, lifecycle.parse_kinds(None, workspace.config.stream.models), seed=cell.seed)
    if options.meter == "measured":
        lifecycle.calibrate_energy(workspace)
    return workspace


def _meter(options: CellOptions) -> Any:
    if options.meter == "model":
        from harmone.energy.model import ModelMeter, load_energy_model

        return ModelMeter(load_energy_model(options.energy_model))
    return None  # the workspace's own (measured) meter


def _figures(run: Any) -> dict[str, Any]:
    from harmone.experiment import to_result

    summary = run.summary
    n = summary.predictions
    total_uj = summary.inference_energy_uj + summary.adaptation_energy_uj
    return {
        "predictions": n, "r2": summary.r2, "mae": summary.mae, "skill": to_result(run).skill,
        "energy_uj_per_prediction": total_uj / n if n else None,
        "inference_uj_per_prediction": summary.inference_energy_uj / n if n else None,
        "adaptation_energy_uj": summary.adaptation_energy_uj, "retraining_energy_uj": summary.retraining_energy_uj,
        "switches": summary.switches, "reuses": summary.reuses, "retrains": summary.retrains,
        "drift_detections": summary.drift_detections, "retrain_failures": summary.retrain_failures,
    }


def run_cell(cell: Cell, options: CellOptions, out_dir: str | Path) -> dict[str, Any]:
    """Run one cell and write its results file; returns what it wrote.

    Torch is held to one thread: cells run side by side on all cores, and one thread
    makes training give the same numbers whatever the machine's core count.
    """
    import torch

    from harmone import atomic
    from harmone.experiment import run_experiment

    torch.set_num_threads(1)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"harmone-cell-{cell.id}-") as tmp:
        workspace = _workspace(Path(tmp) / "ws", cell, options)
        trained_s = time.perf_counter() - started
        meter = _meter(options)
        runs = run_experiment(workspace, Path(tmp) / "out", approaches=list(options.approaches), steps=options.steps,
                              seed=cell.seed, published_constants=options.published_constants, meter=meter)
        approaches = {run.summary.approach: _figures(run) for run in runs}
        meter_info = ({"kind": runs[0].summary.meter_kind, "source": runs[0].summary.meter_source,
                       "modelled": options.meter == "model"})
        timing = {"wall_time_s": time.perf_counter() - started, "train_s": trained_s,
                  "approach_wall_s": {run.summary.approach: run.summary.wall_time_s for run in runs},
                  "latency_mean_s": {run.summary.approach: run.summary.latency_mean_s for run in runs}}
    record = {"cell": {"stream": cell.stream, "seed": cell.seed, "id": cell.id}, "meter": meter_info,
              "options": {**asdict(options), "config_text": None}, "approaches": approaches, TIMING_KEY: timing}
    path = cell_path(Path(out_dir), cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record
