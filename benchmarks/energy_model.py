"""Measure the reference energy model on this machine: ``python -m benchmarks.energy_model OUT NAME``.

Builds a workspace on the built-in stream (seed 0) with the default configuration, trains
every registered kind and measures the tables with the CPU-time estimate
(``harmone.energy.model_build``), ``BUILDS`` times (default 3) in fresh workspaces; each
entry of the written model is the median over the builds, since one build moves by tens of
percent with host load. The packaged ``src/harmone/energy/reference_model.json`` is this
command's output; measure on a quiet machine.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

from harmone import lifecycle
from harmone.energy.model import EnergyModel
from harmone.energy.model_build import measure_energy_model
from harmone.models import kinds
from harmone.workspace import Workspace

TABLES = ("prediction_uj", "retraining_uj", "loop_run_uj", "warm_retraining_uj")


def build_once(name: str) -> EnergyModel:
    with tempfile.TemporaryDirectory(prefix="harmone-reference-") as tmp:
        workspace, _ = Workspace.init(Path(tmp) / "ws")
        text = workspace.config_path.read_text(encoding="utf-8").replace('meter = "auto"', 'meter = "estimator"')
        workspace.config_path.write_text(text, encoding="utf-8")
        workspace = Workspace.open(workspace.root)
        lifecycle.use_builtin_stream(workspace, seed=0)
        lifecycle.train_initial(workspace, kinds())  # every registered kind, served or not
        return measure_energy_model(workspace, name=name)


def median_model(models: list[EnergyModel]) -> EnergyModel:
    tables = {table: {key: statistics.median(getattr(m, table)[key] for m in models)
                      for key in getattr(models[0], table) if all(key in getattr(m, table) for m in models)}
              for table in TABLES}
    provenance = f"{models[0].provenance}; each entry the median of {len(models)} builds"
    return dataclasses.replace(models[0], provenance=provenance, **tables)


#: Streams the per-kind tables of a task's kinds are measured on, by task.
TASK_STREAMS = {"classification": "digits"}


def kind_costs_once(task: str) -> dict[str, dict[str, float]]:
    """Energy per prediction (calibrated back to back, as the forecasting kinds were) and per
    retraining of every kind of ``task``, on its built-in stream (seed 0)."""
    from harmone.data.digits import generate
    from harmone.energy.model_build import measure_kind_costs
    from harmone.models import kinds_for

    assert TASK_STREAMS[task] == "digits"
    with tempfile.TemporaryDirectory(prefix="harmone-reference-") as tmp:
        workspace, _ = Workspace.init(Path(tmp) / "ws", task)
        text = workspace.config_path.read_text(encoding="utf-8").replace('meter = "auto"', 'meter = "estimator"')
        text = text.replace("calibration_predictions = 200", "calibration_predictions = 2000")
        workspace.config_path.write_text(text, encoding="utf-8")
        workspace = Workspace.open(workspace.root)
        stream = generate(None, 0, train_ratio=workspace.config.stream.train_ratio)
        lifecycle.use_labelled(workspace, stream.train, stream.test)
        lifecycle.train_initial(workspace, kinds_for(task))
        calibration, retraining, warm = measure_kind_costs(workspace, gap_s=0.0)
        return {"prediction_uj": dict(calibration.energy_uj_per_prediction), "retraining_uj": retraining,
                "warm_retraining_uj": warm}


def add_task(path: Path, task: str, builds: int) -> EnergyModel:
    """The model at ``path`` with the per-kind tables of ``task``'s kinds measured and added (the
    median of ``builds`` builds); every other entry is kept as it was."""
    from harmone.energy.model import load_energy_model

    model = load_energy_model(path)
    measured = [kind_costs_once(task) for _ in range(builds)]
    tables = {table: {**getattr(model, table),
                      **{kind: statistics.median(m[table][kind] for m in measured) for kind in measured[0][table]}}
              for table in ("prediction_uj", "retraining_uj", "warm_retraining_uj")}
    note = (f"{task} kinds ({', '.join(measured[0]['prediction_uj'])}) added on the {TASK_STREAMS[task]} stream: "
            f"calibration of 2000 predictions back to back, median of 3 retrainings, each entry the median of "
            f"{builds} builds; loop costs are the forecasting loops'")
    return dataclasses.replace(model, provenance=f"{model.provenance}; {note}", **tables)


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "--add-task":
        # python -m benchmarks.energy_model --add-task TASK MODEL.json BUILDS: measure a task's kinds into a model
        task, path, builds = argv[1], Path(argv[2]), int(argv[3])
        add_task(path, task, builds).save(path)
        print(f"wrote {path}")
        return 0
    if len(argv) not in (2, 3):
        print("usage: python -m benchmarks.energy_model OUT.json NAME [BUILDS]\n"
              "       python -m benchmarks.energy_model --add-task TASK MODEL.json BUILDS", file=sys.stderr)
        return 2
    out, name, builds = Path(argv[0]), argv[1], int(argv[2]) if len(argv) == 3 else 3
    model = median_model([build_once(name) for _ in range(builds)])
    model.save(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
