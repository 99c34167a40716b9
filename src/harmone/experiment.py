"""Run approaches side by side on one stream and collect comparable results.

Each approach runs in simulated time in its own copy of the workspace, every copy starting
from the same trained models (version 1 of each kind) and the same energy calibration, so
the only difference between runs is the approach.

Nothing is charged to one approach that belongs to all: ``warm_up`` pays for imports
(scikit-learn, torch), first calls and caches before the first approach is metered, so
an approach's energy does not depend on its place in the run order. With the model meter
(``harmone.energy.model``) every approach is charged from one table of costs and the
copies get that table's calibration, so a seed decides every figure.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harmone import atomic
from harmone import config as config_mod
from harmone.approaches import APPROACHES, DEFAULT_APPROACHES, default_approaches, get_approach
from harmone.tasks import Task
from harmone.config import Config
from harmone.energy.base import EnergyMeter
from harmone.energy.fake import FakeMeter
from harmone.energy.model import ModelMeter
from harmone.errors import HarmonEError
from harmone.knowledge import KnowledgeStore
from harmone.models import published_models
from harmone.repository import ModelRepository
from harmone.report.results import RunResult
from harmone.runner import run_approach
from harmone.workspace import Workspace

#: Sub-directory of the output directory holding one workspace copy per approach.
RUNS_DIR = "runs"

#: Scratch copy (under RUNS_DIR) where the warm-up runs; removed afterwards.
WARM_UP_DIR = ".warm-up"
#: Predictions of the warm-up run: past two switch-loop runs and many drift checks.
WARM_UP_STEPS = 600

#: Progress factory: progress_for(approach, total_steps) -> callback(done, total).
ProgressFactory = Callable[[str], Callable[[int, int], None] | None]


def parse_approaches(text: str | None, task: Task | None = None) -> list[str]:
    """`all` (or None) -> the nine of ``task`` (forecasting: the published ones, in published order);
    else a comma-separated list, where `all` stands for those nine (`all,bandit`: the nine and the bandit)."""
    nine = list(DEFAULT_APPROACHES if task is None else default_approaches(task.compared_kinds))
    if text is None or text.strip() == "all":
        return nine
    names = [name for part in text.split(",") if part.strip()
             for name in (nine if part.strip() == "all" else [part.strip()])]
    if not names:
        raise HarmonEError(f"--approaches {text!r} names no approach; give 'all' or some of: {', '.join(APPROACHES)}")
    for name in names:
        get_approach(name)  # raises, listing the valid names
    return list(dict.fromkeys(names))


def usable_output_dir(out_dir: Path) -> Path:
    """Create the output directory, or say why it cannot be, before minutes of running.

    The shared output check (``data.output_path``): never inside a workspace's own state.
    """
    from harmone.data.output_path import check_output_dir

    return check_output_dir(out_dir, what="results")


#: The drift loop as published: the detector judges every check, the whole drift window is
#: the new regime, only the answering kind's versions are compared, no persistence test.
PUBLISHED_DRIFT = {"trigger": "none", "quiet_every": 1, "split_regime": False, "reuse_scope": "target",
                   "beat_persistence": False}


def published_config(config: Config) -> Config:
    """The paper's constants exactly: published energy range and budget rule, unvalidated adaptation,
    and the published model representation and hyperparameters (min-max inputs, fixed strengths)."""
    config = config_mod.published_loops(config)  # timings in seconds, R² score, the published kinds
    return config.replace(
        energy=dataclasses.replace(config.energy, normalisation="published", live_correction=False),
        switch=dataclasses.replace(config.switch, budget_rule="published", quiet_every=1, energy_target="any"),
        drift=dataclasses.replace(config.drift, validate=False, target="serving", **PUBLISHED_DRIFT),
        retrain=dataclasses.replace(config.retrain, validate=False, warm_start=False),
        models=published_models(config.models),
    )


def prepare_copy(source: Workspace, root: Path, config: Config, meter: EnergyMeter | None = None) -> Workspace:
    """A fresh workspace at `root` with the source's data, calibration and version 1 of each model.

    With a model meter the copy's calibration is the energy model's, not the source's
    measured one, so the switch score's range is the same on every machine.
    """
    if root.exists():
        shutil.rmtree(root)
    copy, _ = Workspace.init(root)
    atomic.write_text(copy.config_path, config_mod.render(config))
    for path in (source.train_path, source.test_path):
        shutil.copy2(path, copy.data_dir / path.name)
    if isinstance(meter, ModelMeter):
        meter.model.calibration(kinds=ModelRepository(source).trained_kinds()).save(copy.calibration_path)
    elif source.calibration_path.exists():
        shutil.copy2(source.calibration_path, copy.calibration_path)
    source_repo, copy_repo = ModelRepository(source), ModelRepository(copy)
    trained = source_repo.trained_kinds()
    if not trained:
        raise HarmonEError(f"{source.root}: no trained models to compare (run `harmone train`)")
    for kind in trained:
        if 1 not in source_repo.versions(kind):
            raise HarmonEError(f"{source.versions_dir / kind}: version 1 of {kind!r} is missing")
        target = copy_repo.version_dir(kind, 1)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source_repo.version_dir(kind, 1), target)
        copy_repo.promote(kind, 1)
    default = config.stream.default_model
    copy.write_active_model(default if default in trained else trained[0])
    return Workspace.open(root)


@dataclass(frozen=True)
class ApproachRun:
    summary: RunResult
    workspace: Workspace


def run_experiment(source: Workspace, out_dir: Path, *, approaches: Sequence[str], steps: int | None = None,
                   seed: int = 0, published_constants: bool = False, meter: EnergyMeter | None = None,
                   progress_for: ProgressFactory | None = None, warm: bool = True) -> list[ApproachRun]:
    """Run every approach from the same starting point; returns one run per approach.

    ``warm`` (default) runs ``warm_up`` first when the meter measures, so one-off costs
    land before metering starts (the model meter charges none, so it needs none).
    """
    usable_output_dir(out_dir)
    config = source.config
    if published_constants:
        config = published_config(config)
    if warm and not isinstance(meter, ModelMeter):
        warm_up(source, Path(out_dir) / RUNS_DIR / WARM_UP_DIR, config)
    runs = []
    for name in approaches:
        approach = get_approach(name)
        copy = prepare_copy(source, Path(out_dir) / RUNS_DIR / name, config, meter)
        if approach.fixed_model is not None and approach.fixed_model not in ModelRepository(copy).trained_kinds():
            raise HarmonEError(f"approach {name!r} needs a trained {approach.fixed_model!r} model (run `harmone train`)")
        progress = progress_for(name) if progress_for else None
        if isinstance(meter, ModelMeter):
            meter = ModelMeter(meter.model)  # a counter from 0 per approach: its sums never depend on the order
        summary = run_approach(copy, approach, steps=steps, seed=seed, simulate=True, meter=meter,
                               progress=progress)
        runs.append(ApproachRun(summary, copy))
    return runs


def to_result(run: ApproachRun) -> RunResult:
    """The run's result with its per-prediction series, read back from the copy's rows."""
    summary = run.summary
    with KnowledgeStore(run.workspace.db_path) as store:
        rows = store.predictions_after(summary.first_row_id - 1, summary.predictions)
    result = summary.with_series(time_s=rows.time_s, true_value=rows.true_value,
                                 predicted_value=rows.predicted_value, model=rows.model.astype(str))
    if len(rows) < 2:
        return result
    # A run starts at the stream's beginning: the naive baseline's first guess is the record before
    # it (persistence); a stream whose first record is predicted (classification) is judged from
    # its second row, which has one.
    config = run.workspace.config
    stream = config.task.read_stream(run.workspace.test_path, config)
    true, predicted = rows.true_value, rows.predicted_value
    if stream.first > 0:
        previous = np.concatenate([[stream.target(stream.first - 1)], true[:-1]])
    else:
        true, predicted, previous = true[1:], predicted[1:], true[:-1]
    return dataclasses.replace(result, skill=config.task.skill(true, predicted, previous),
                               baseline=config.task.accuracy(true, previous), task=config.task.name)


def warm_up(source: Workspace, root: Path, config: Config | None = None) -> None:
    """Pay once, unmetered, what the first approach would otherwise be charged alone.

    Imports (scikit-learn, torch), first calls and caches: every kind is retrained once on
    a short slice of the training data, and harmone runs a few hundred steps (every loop,
    the store, the engine) in a scratch copy with a counter that never moves.
    """
    from harmone.training import train

    config = config or source.config
    task = config.task
    data = task.newest(task.read_training(source.train_path), max(config.stream.input_length * 40, 200))
    for kind in ModelRepository(source).trained_kinds():
        try:
            train(kind, data, config, retrain=True, seed=0)
        except HarmonEError:
            pass  # a slice too short for this kind: its imports ran anyway
    copy = prepare_copy(source, root, config)
    try:
        run_approach(copy, "harmone", steps=WARM_UP_STEPS, seed=0, simulate=True, meter=FakeMeter())
    finally:
        shutil.rmtree(root, ignore_errors=True)
