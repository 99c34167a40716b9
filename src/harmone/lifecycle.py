"""Workspace-level operations behind the CLI: first training, status, reset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harmone.errors import HarmonEError
from harmone.knowledge import KnowledgeStore
from harmone.models import kinds as all_kinds, kinds_for
from harmone.repository import ModelRepository
from harmone.workspace import Workspace

if TYPE_CHECKING:
    from harmone.inference import InferenceEngine


#: Factory for a per-model progress callback: progress_for(kind, total_epochs) -> callback.
ProgressFactory = Callable[[str], Callable[[int, int], None] | None]


def parse_kinds(text: str | None, served: Sequence[str] | None = None) -> list[str]:
    """`lstm,svm` -> ['lstm', 'svm'], rejecting unknown names.

    None means the kinds the deployment serves (``served``, the config's ``stream.models``),
    or every forecasting kind when that is not given. A kind of another task than the
    workspace's is refused by ``train_initial``.
    """
    known = all_kinds()
    if not text:
        return list(served) if served is not None else kinds_for("forecasting")
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [k for k in chosen if k not in known]
    if unknown or not chosen:
        raise HarmonEError(f"unknown model kind(s) {', '.join(unknown) or repr(text)} (known: {', '.join(known)})")
    return list(dict.fromkeys(chosen))


def use_series(workspace: Workspace, values: np.ndarray, *,
               train_ratio: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Make `values` the workspace's stream: the leading share trains, the rest is the test stream."""
    from harmone.data.series import split, write_split

    ratio = workspace.config.stream.train_ratio if train_ratio is None else train_ratio
    if not 0 < ratio < 1:
        raise HarmonEError(f"train ratio {ratio} must be between 0 and 1")
    train, test = split(values, ratio, window=workspace.config.stream.input_length)
    write_split(workspace.data_dir, train, test)
    return train, test


def use_labelled(workspace: Workspace, train: Any, test: Any) -> None:
    """Make labelled records (``LabelledData``) the workspace's training split and test stream."""
    from harmone.data.labelled import write_labelled_split

    write_labelled_split(workspace.data_dir, train, test)


def use_builtin_stream(workspace: Workspace, *, steps: int | None = None, seed: int = 0, profile: str = "default",
                       train_ratio: float | None = None) -> Any:
    """Generate the built-in stream into the workspace; returns the `SynthStream` (with its regimes)."""
    from harmone.data.synth import DEFAULT_STEPS, generate

    ratio = workspace.config.stream.train_ratio if train_ratio is None else train_ratio
    stream = generate(steps or DEFAULT_STEPS, seed, train_ratio=ratio, profile=profile)
    use_series(workspace, stream.values, train_ratio=ratio)
    return stream


def train_initial(workspace: Workspace, kinds: Sequence[str], *, seed: int = 0,
                  progress_for: ProgressFactory | None = None) -> list[dict[str, Any]]:
    """Train each kind on the training split, store it as a new version and make it active."""
    from harmone.training import train

    task = workspace.config.task
    foreign = [kind for kind in kinds if kind not in task.kinds()]
    if foreign:
        raise HarmonEError(f"model kind(s) {', '.join(foreign)} do not learn {task.name} records, which this "
                           f"workspace's stream holds ([stream] task; {task.name} kinds: {', '.join(task.kinds())})")
    data = task.read_training(workspace.train_path)
    repository = ModelRepository(workspace)
    rows = []
    for kind in kinds:
        progress = progress_for(kind) if progress_for else None
        trained = train(kind, data, workspace.config, seed=seed, progress=progress)
        version = repository.add_version(trained, reason="initial")
        repository.promote(kind, version)
        rows.append({"model": kind, "version": version, **trained.metrics, "train_time_s": trained.train_time_s})
    if workspace.read_active_model() is None:
        default = workspace.config.stream.default_model
        workspace.write_active_model(default if default in kinds else kinds[0])
    return rows


def status(workspace: Workspace) -> dict[str, Any]:
    """What a user wants to know about a deployment at a glance (``harmone.status``), as plain data."""
    from harmone.status import read_status

    return read_status(workspace).to_dict()


def calibrate_energy(workspace: Workspace, *, predictions: int | None = None, gap_s: float | None = None) -> Any:
    """Measure each trained model's energy per prediction as it is served; store the proposed range.

    Returns None with the fake meter, which counts nothing to calibrate with. Each kind
    streams the test data through the real inference engine, logging into a scratch
    knowledge base, and its figures are read back from the rows it logged: the same
    metering and the same split (model's own work, serving overhead) that a live `infer`
    logs, after the same kind of idle wait (``[energy] calibration_gap_s``).
    """
    import tempfile
    from pathlib import Path

    from harmone.clock import SimulatedClock
    from harmone.energy.calibrate import calibrate
    from harmone.energy.detect import detect
    from harmone.inference import InferenceEngine

    repository = ModelRepository(workspace)
    trained = repository.trained_kinds()
    if not trained:
        raise HarmonEError("no trained model to calibrate (run `harmone train`)")
    energy = workspace.config.energy
    if energy.meter == "fake":
        return None
    test = workspace.config.task.read_stream(workspace.test_path, workspace.config)
    with detect(energy) as meter, tempfile.TemporaryDirectory(prefix="harmone-calibration-") as scratch:
        servers: dict[str, _ScratchServer] = {}
        try:
            for kind in trained:
                store = KnowledgeStore(Path(scratch) / f"{kind}.db")
                engine = InferenceEngine(stream=test, repository=repository,
                                         active_model=workspace.follow_active_model(), store=store, meter=meter,
                                         clock=SimulatedClock(), config=workspace.config, fixed_model=kind,
                                         source=str(workspace.test_path))
                servers[kind] = _ScratchServer(engine, store)
            calibration = calibrate(
                servers, meter, predictions=energy.calibration_predictions if predictions is None else predictions,
                gap_s=energy.calibration_gap_s if gap_s is None else gap_s)
        finally:
            for server in servers.values():
                server.store.close()
    calibration.save(workspace.calibration_path)
    return calibration


class _ScratchServer:
    """One kind served by a real engine into a scratch knowledge base, for calibration."""

    def __init__(self, engine: InferenceEngine, store: KnowledgeStore) -> None:
        self.engine = engine
        self.store = store
        self._taken_row_id = 0

    def step(self) -> None:
        if self.engine.step() is None:
            self.engine.restart()
            self.engine.step()

    def take(self) -> tuple[float, float]:
        """(model µJ, overhead µJ) of the rows logged since the last take, as the engine logged them."""
        self.engine.flush()
        split = self.store.energy_split_after(self._taken_row_id).get(self.engine.serving.kind)
        self._taken_row_id = self.store.last_row_id()
        if split is None:
            return 0.0, 0.0
        return split.model_energy_uj, split.split_energy_uj - split.model_energy_uj
