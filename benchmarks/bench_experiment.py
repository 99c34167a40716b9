"""The full nine-approach comparison on the built-in stream, timed (target: within 10 minutes).

Runs what `harmone demo` runs, in a temporary workspace, for both built-in stream profiles
and for the default stream with the published constants, and records the wall time of each
stage together with the results table, the claims and the energy of every retraining.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from collections.abc import Sequence
from typing import Any

from harmone import experiment, lifecycle
from harmone.approaches import APPROACHES
from harmone.report import claims, results_rows
from harmone.workspace import Workspace

PROFILES = ("default", "alt", "pems")


def run_profile(root: Path, profile: str, *, seed: int = 0, approaches: Sequence[str] = tuple(APPROACHES),
                published_constants: bool = False) -> dict[str, Any]:
    """Generate, train, calibrate and compare in a fresh workspace; figures of each stage."""
    started = time.perf_counter()
    workspace, _ = Workspace.init(root)
    lifecycle.use_builtin_stream(workspace, seed=seed, profile=profile)
    trained_at = time.perf_counter()
    lifecycle.train_initial(workspace, lifecycle.parse_kinds(None))
    calibration = lifecycle.calibrate_energy(workspace)
    ready_at = time.perf_counter()
    runs = experiment.run_experiment(workspace, root / "experiment", approaches=list(approaches), seed=seed,
                                     published_constants=published_constants)
    done_at = time.perf_counter()
    results = [experiment.to_result(run) for run in runs]
    meter = {"kind": runs[0].summary.meter_kind, "source": runs[0].summary.meter_source}
    return {
        "predictions_per_approach": runs[0].summary.predictions,
        "wall_s": {"train_and_calibrate": round(ready_at - trained_at, 1),
                   "approaches": round(done_at - ready_at, 1),
                   "total": round(done_at - started, 1),
                   "per_approach": {run.summary.approach: round(run.summary.wall_time_s, 1) for run in runs}},
        "calibration_uj_per_prediction": calibration.energy_uj_per_prediction,
        "results": [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in row.items()}
                    for row in results_rows(results, seed=seed, meter=meter)],
        "claims": [{"claim": c.name, "holds": c.holds, "detail": c.detail} for c in claims(results)],
        # Energy of each retraining, J, by model: what adaptation costs next to inference.
        "retrainings_j": {run.summary.approach: [(e.model, round(e.energy_uj / 1e6, 2)) for e in run.summary.events
                                                 if e.action == "retrain"] for run in runs},
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        results = {profile: run_profile(Path(tmp) / profile, profile) for profile in PROFILES}
        results["default-published-constants"] = run_profile(Path(tmp) / "published", "default",
                                                           published_constants=True)
        return results
