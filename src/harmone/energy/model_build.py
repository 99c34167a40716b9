"""Build an energy model from measurements on this machine (``measure_energy_model``).

Three measurements, each after a warm-up so first calls and imports are not in them:

- energy per prediction of each kind: the calibration (``lifecycle.calibrate_energy``);
- one retraining of each kind on the retraining window (``retrain.training_values`` values
  at the end of the training split), median of ``repeats`` fits, from scratch and
  warm-started from the kind's active version (``retrain.warm_start``);
- one run of each loop: from the loop's events in measured simulated runs, the retraining's
  own energy subtracted and drift answers left out, so a loop run is the cost of watching
  and deciding. The switch and drift loops run at periods that make each run read 1-8 times
  as many rows (``ROW_PERIODS``); a least-squares line through (rows read, energy) gives a
  fixed cost per run and a cost per row read. The retrain loop (a fixed window): the median
  over a single-linear+retrain run.
"""

from __future__ import annotations

import dataclasses
import platform
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from harmone.energy.model import EnergyModel
from harmone.knowledge.events import LOOP_NAMES
from harmone.workspace import Workspace


def _retraining_uj(workspace: Workspace, kinds: list[str], repeats: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median energy of a retraining by kind: from scratch, and warm-started where the kind can."""
    from harmone.energy.base import window
    from harmone.energy.detect import detect
    from harmone.repository import ModelRepository
    from harmone.training import train, warm_start_from

    config = workspace.config
    task = config.task
    values = task.newest(task.read_training(workspace.train_path), config.retrain.training_values)
    repository = ModelRepository(workspace)
    cold, warm = {}, {}
    with detect(config.energy, scope="process") as meter:
        for kind in kinds:
            initial = warm_start_from(repository, kind, config)
            for start, out in ((None, cold), (initial, warm)):
                if out is warm and initial is None:
                    continue
                train(kind, values, config, retrain=True, seed=0, initial=start)  # warm-up: imports, first calls
                fits = []
                for seed in range(repeats):
                    with window(meter) as measured:
                        train(kind, values, config, retrain=True, seed=seed + 1, initial=start)
                    fits.append(measured.energy_uj)
                out[kind] = statistics.median(fits)
    return cold, warm


#: Periods (predictions) of the runs that measure a loop run's cost: the rows each run reads
#: vary over a factor 8, so a line through (rows, energy) separates the fixed part of a run
#: from what each row read adds.
ROW_PERIODS = {"switch": (267, 534, 1068, 2136), "drift": (20, 80, 320)}
#: Predictions per such run.
ROW_RUN_STEPS = 9000


def _rows_read(events: list[Any]) -> list[int | None]:
    """Rows each run read, from the row ids its event records (None where they do not say)."""
    rows: list[int | None] = []
    previous_drift: int | None = None
    for event in events:
        first, last = event.observed.get("first_row_id"), event.observed.get("last_row_id")
        if event.loop == "switch" and isinstance(first, int) and isinstance(last, int):
            rows.append(last - first + 1)
        elif event.loop == "drift" and isinstance(last, int):
            rows.append(last - previous_drift if previous_drift is not None else None)
            previous_drift = last
        else:
            rows.append(None)
    return rows


def _fit_run_and_row(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares ``energy = run + row x rows``; a flat median where rows do not vary or the line is not sensible."""
    median = statistics.median(energy for _, energy in points) if points else 0.0
    if len({rows for rows, _ in points}) < 3:
        return median, 0.0
    slope, intercept = np.polyfit([float(r) for r, _ in points], [e for _, e in points], 1)
    if slope <= 0 or intercept < 0:
        return median, 0.0
    return float(intercept), float(slope)


def _runs_with(workspace: Workspace, root: Path, approach: str, steps: int, **sections: dict[str, Any]) -> list[Any]:
    """The events of one measured simulated run of ``approach`` with changed config sections."""
    from harmone.experiment import prepare_copy, run_experiment

    config = workspace.config
    config = config.replace(**{name: dataclasses.replace(getattr(config, name), **values)
                               for name, values in sections.items()})
    copy = prepare_copy(workspace, root / "source", config)
    (result,) = run_experiment(copy, root / "out", approaches=[approach], steps=steps, warm=False)
    return list(result.summary.events)


def _loop_costs(workspace: Workspace, steps: int) -> tuple[dict[str, float], dict[str, float]]:
    """Per loop: a run's fixed cost, and its cost per row read (runs that found no drift).

    The switch and drift loops from runs at the periods of ``ROW_PERIODS`` (the drift loop
    checking every period); the retrain loop, which reads a fixed window, from the median
    of a single-linear+retrain run.
    """
    from harmone.experiment import warm_up

    points: dict[str, list[tuple[int, float]]] = {loop: [] for loop in LOOP_NAMES}
    with tempfile.TemporaryDirectory(prefix="harmone-energy-model-") as tmp:
        warm_up(workspace, Path(tmp) / "warm-up")
        runs = [("single-linear+retrain", steps, {})]
        runs += [("switch", ROW_RUN_STEPS, {"switch": {"interval_steps": p, "interval_s": None}})
                 for p in ROW_PERIODS["switch"]]
        runs += [("harmone", ROW_RUN_STEPS, {"drift": {"interval_steps": p, "interval_s": None, "quiet_every": 1}})
                 for p in ROW_PERIODS["drift"]]
        for n, (approach, run_steps, sections) in enumerate(runs):
            events = _runs_with(workspace, Path(tmp) / str(n), approach, run_steps, **sections)
            for event, rows in zip(events, _rows_read(events)):
                if event.drift_detected or (rows is None and event.loop != "retrain"):
                    continue  # answering a drift, or a first check whose rows are unknown
                retraining = float(event.observed.get("train_energy_uj") or 0.0)
                points[str(event.loop)].append((rows or 0, max(0.0, event.energy_uj - retraining)))
    fitted = {loop: _fit_run_and_row(found) for loop, found in points.items()}
    return {loop: run for loop, (run, _) in fitted.items()}, {loop: row for loop, (_, row) in fitted.items() if row}


def measure_kind_costs(workspace: Workspace, *, repeats: int = 3,
                       gap_s: float | None = None) -> tuple[Any, dict[str, float], dict[str, float]]:
    """The per-kind tables of every trained kind: the calibration (energy per prediction), and a
    retraining's energy from scratch and warm-started. ``gap_s``: the calibration's idle gap
    (None: the workspace's ``[energy] calibration_gap_s``)."""
    from harmone import lifecycle
    from harmone.repository import ModelRepository

    kinds = ModelRepository(workspace).trained_kinds()
    calibration = lifecycle.calibrate_energy(workspace, gap_s=gap_s)
    if calibration is None:
        raise ValueError("the fake meter counts nothing: measure an energy model with a real meter")
    retraining, warm = _retraining_uj(workspace, kinds, repeats)
    return calibration, retraining, warm


def measure_energy_model(workspace: Workspace, *, name: str = "measured", steps: int = 6000,
                         repeats: int = 3) -> EnergyModel:
    """Measure the three tables on this machine with the workspace's meter (see module doc)."""
    calibration, retraining, warm = measure_kind_costs(workspace, repeats=repeats)
    loops, per_row = _loop_costs(workspace, steps)
    provenance = (f"measured on {platform.machine()} {platform.processor() or ''} with "
                  f"{calibration.meter_kind} meter {calibration.meter_source}: calibration of "
                  f"{calibration.predictions} predictions per kind, median of {repeats} retrainings per kind, "
                  f"loop runs fitted as a fixed cost plus a cost per row read (runs at several periods; the retrain "
                  f"loop's median over a {steps}-step run)")
    return EnergyModel(name=name, prediction_uj=calibration.energy_uj_per_prediction, retraining_uj=retraining,
                       loop_run_uj=loops, provenance=" ".join(provenance.split()), warm_retraining_uj=warm,
                       loop_row_uj=per_row)
