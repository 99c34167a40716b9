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


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: python -m benchmarks.energy_model OUT.json NAME [BUILDS]", file=sys.stderr)
        return 2
    out, name, builds = Path(argv[0]), argv[1], int(argv[2]) if len(argv) == 3 else 3
    model = median_model([build_once(name) for _ in range(builds)])
    model.save(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
