"""What a run served, read back from its knowledge base: the figures live and replayed runs are compared on.

Used by the live benchmark and the live tests to put a two-process run beside a simulated
replay of the same predictions: decisions by kind, the share of predictions per model (and
how much the costliest kind served once the switch loop had first moved away from it),
energy per prediction split into the model's own work and the serving overhead, and each
model's median normalised energy over the switch runs that judged it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from harmone.energy.calibrate import Calibration, load_calibration, normalise
from harmone.errors import HarmonEError
from harmone.knowledge import Action, KnowledgeStore, LoopName
from harmone.workspace import Workspace


def costliest_kind(workspace: Workspace, calibration: Calibration) -> str:
    """The served kind with the most calibrated energy per prediction (the LSTM on a forecasting
    stream); the task's default model when no served kind is calibrated."""
    calibrated = calibration.energy_uj_per_prediction
    served = [kind for kind in workspace.config.stream.models if kind in calibrated]
    return max(served, key=calibrated.__getitem__) if served else workspace.config.task.default_model


def summarise(workspace: Workspace) -> dict[str, Any]:
    """What the knowledge base says about a run: decisions, shares, energy split, normalised energy."""
    calibration = load_calibration(workspace.calibration_path)
    if calibration is None:
        raise HarmonEError(f"{workspace.calibration_path}: no energy calibration (run `harmone energy calibrate`)")
    goal = workspace.config.switch.energy_goal
    costliest = costliest_kind(workspace, calibration)
    cheap = sorted(kind for kind in calibration.energy_uj_per_prediction if calibration.normalised(kind) <= goal)
    with KnowledgeStore.open_readonly(workspace.db_path) as store:
        rows = store.predictions_after(0)
        switch_runs = store.events(loop=LoopName.SWITCH)
        decisions = Counter(f"{event.loop.value}:{event.decision.value}" for event in store.events())
        split = store.energy_split_after(0)
    models = rows.model.astype(str)
    total = len(models)
    first_switch = next((e for e in switch_runs if e.action is Action.SWITCH), None)
    after = rows.row_id > (first_switch.observed.get("last_row_id") or 0) if first_switch else rows.row_id < 0
    normalised: dict[str, list[float]] = {}
    for event in switch_runs:
        for kind, figures in (event.observed.get("per_model") or {}).items():
            normalised.setdefault(kind, []).append(figures["normalised_energy"])
    energy_violations = [e for e in switch_runs if e.decision.value == "energy-violation"]
    costlier = [e for e in energy_violations if e.action is Action.SWITCH
                and calibration.energy_uj_per_prediction[str(e.observed["target"])]
                > calibration.energy_uj_per_prediction[str(e.observed["source"])]]
    return {
        "predictions": total,
        "switch_runs": len(switch_runs),
        "decisions": dict(sorted(decisions.items())),
        "share": {kind: round(float((models == kind).mean()), 4) for kind in sorted(set(models))},
        "costliest_kind": costliest,
        "costliest_share_after_first_switch": (round(float((models[after] == costliest).mean()), 4) if after.any()
                                               else None),
        "energy_uj_per_prediction": {kind: {"model": s.model_uj_per_prediction,
                                            "overhead": s.overhead_uj_per_prediction,
                                            "rows": s.rows} for kind, s in split.items()},
        "median_normalised_energy": {kind: statistics.median(values) for kind, values in sorted(normalised.items())},
        "calibrated_normalised_energy": {kind: normalise(uj, calibration.e_min_uj, calibration.e_max_uj)
                                         for kind, uj in sorted(calibration.energy_uj_per_prediction.items())},
        "cheap_kinds": cheap,
        "energy_violations_while_cheap": sum(1 for e in energy_violations if str(e.observed["source"]) in cheap),
        "energy_switches_to_costlier": len(costlier),
        "energy_basis": (switch_runs[-1].observed.get("energy_basis") if switch_runs else None),
    }
