"""Build an energy model from measurements on this machine (``measure_energy_model``).

Three measurements, each after a warm-up so first calls and imports are not in them:

- energy per prediction of each kind: the calibration (``lifecycle.calibrate_energy``);
- one retraining of each kind on the retraining window (``retrain.training_values`` values
  at the end of the training split), median of ``repeats`` fits, from scratch and
  warm-started from the kind's active version (``retrain.warm_start``);
- one run of each loop: the median energy of the loop's events in a measured simulated run
  of harmone (switch and drift loops) and of single-linear+retrain (retrain loop), the
  retraining's own energy subtracted, so a loop run is the cost of watching and deciding.
"""

from __future__ import annotations

import platform
import shutil
import statistics
import tempfile
from pathlib import Path

from harmone.energy.model import EnergyModel
from harmone.knowledge.events import LOOP_NAMES
from harmone.workspace import Workspace


def _retraining_uj(workspace: Workspace, kinds: list[str], repeats: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median energy of a retraining by kind: from scratch, and warm-started where the kind can."""
    from harmone.data.series import read_series
    from harmone.energy.base import window
    from harmone.energy.detect import detect
    from harmone.repository import ModelRepository
    from harmone.training import train, warm_start_from

    config = workspace.config
    values = read_series(workspace.train_path)[-config.retrain.training_values:]
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


def _loop_run_uj(workspace: Workspace, steps: int) -> dict[str, float]:
    from harmone.experiment import run_experiment, warm_up

    runs: dict[str, list[float]] = {loop: [] for loop in LOOP_NAMES}
    with tempfile.TemporaryDirectory(prefix="harmone-energy-model-") as tmp:
        warm_up(workspace, Path(tmp) / "warm-up")
        for result in run_experiment(workspace, Path(tmp), approaches=["harmone", "single-linear+retrain"],
                                     steps=steps, warm=False):
            for event in result.summary.events:
                retraining = float(event.observed.get("train_energy_uj") or 0.0)
                runs[str(event.loop)].append(max(0.0, event.energy_uj - retraining))
        shutil.rmtree(tmp, ignore_errors=True)
    return {loop: statistics.median(values) if values else 0.0 for loop, values in runs.items()}


def measure_energy_model(workspace: Workspace, *, name: str = "measured", steps: int = 6000,
                         repeats: int = 3) -> EnergyModel:
    """Measure the three tables on this machine with the workspace's meter (see module doc)."""
    from harmone import lifecycle
    from harmone.repository import ModelRepository

    kinds = ModelRepository(workspace).trained_kinds()
    calibration = lifecycle.calibrate_energy(workspace)
    if calibration is None:
        raise ValueError("the fake meter counts nothing: measure an energy model with a real meter")
    retraining, warm = _retraining_uj(workspace, kinds, repeats)
    loops = _loop_run_uj(workspace, steps)
    provenance = (f"measured on {platform.machine()} {platform.processor() or ''} with "
                  f"{calibration.meter_kind} meter {calibration.meter_source}: calibration of "
                  f"{calibration.predictions} predictions per kind, median of {repeats} retrainings per kind, "
                  f"median loop run over a {steps}-step run")
    return EnergyModel(name=name, prediction_uj=calibration.energy_uj_per_prediction, retraining_uj=retraining,
                       loop_run_uj=loops, provenance=" ".join(provenance.split()), warm_retraining_uj=warm)
