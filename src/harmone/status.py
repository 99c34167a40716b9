"""The deployment at a glance, as one typed read model: what ``status`` and ``events`` print.

Built from a read-only connection to the knowledge base (``KnowledgeStore.open_readonly``)
and the model repository, so a reader (the CLI, a dashboard) never creates or changes
anything, and can run beside ``harmone infer`` and ``harmone manage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from harmone import lock
from harmone.approaches import get_approach
from harmone.cadence import workspace_note
from harmone.config import Config
from harmone.energy.calibrate import load_calibration
from harmone.errors import EnergyError, WorkspaceError
from harmone.knowledge import (
    DriftLoopState,
    EventCounts,
    KnowledgeStore,
    LoopName,
    RetrainLoopState,
    SwitchLoopState,
    count_events,
    keys,
)
from harmone.knowledge.codec import encode_loop_state
from harmone.knowledge.store import Predictions
from harmone.mape.snapshot import initial_switch_state
from harmone.mape.state import DEFAULT_APPROACH, read_approach
from harmone.models import kinds
from harmone.repository import ModelRepository
from harmone.workspace import Workspace

#: Predictions the recent R² and energy are taken over.
RECENT_ROWS = 1000


@dataclass(frozen=True)
class LoopsStatus:
    """The approach, the loops it runs, and each loop's typed state (None before its first run)."""

    approach: str
    loops: tuple[str, ...]
    switch: SwitchLoopState | None
    drift: DriftLoopState | None
    retrain: RetrainLoopState | None
    #: True when ``switch`` is the configured start, not a stored state.
    switch_is_initial: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values; the layout ``harmone status --json`` has always printed."""
        switch = None
        if self.switch is not None:
            state = self.switch.switch
            switch = {"ema": dict(state.ema), "budget": state.budget, "recovery": state.recovery,
                      "last_row_id": state.last_row_id,
                      "next_due_s": None if self.switch_is_initial else self.switch.next_due_s,
                      "counts": self.switch.counts.nonzero()}
        return {"approach": self.approach, "loops": list(self.loops), "switch": switch,
                "drift": None if self.drift is None else encode_loop_state(self.drift),
                "retrain": None if self.retrain is None else encode_loop_state(self.retrain)}


@dataclass(frozen=True)
class ModelEnergy:
    """One kind's energy per prediction, µJ: live over the recent rows it served, and calibrated.

    Each side in two parts: the model's own work (what the switch score compares) and the
    serving overhead around it (choosing the model, metering, logging). None where unknown.
    """

    live_rows: int = 0
    live_model_uj: float | None = None
    live_overhead_uj: float | None = None
    calibrated_model_uj: float | None = None
    calibrated_overhead_uj: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"live_rows": self.live_rows, "live_model_uj": self.live_model_uj,
                "live_overhead_uj": self.live_overhead_uj, "calibrated_model_uj": self.calibrated_model_uj,
                "calibrated_overhead_uj": self.calibrated_overhead_uj}


def _mean_or_none(values: np.ndarray) -> float | None:
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None


def model_energy(recent: Predictions | None, calibration: Any) -> dict[str, ModelEnergy]:
    """Per kind, live (``recent`` rows) and calibrated energy, split into model and overhead."""
    calibrated = calibration.energy_uj_per_prediction if calibration is not None else {}
    overhead = calibration.overhead_uj_per_prediction if calibration is not None else {}
    out = {kind: ModelEnergy(calibrated_model_uj=uj, calibrated_overhead_uj=overhead.get(kind))
           for kind, uj in calibrated.items()}
    if recent is not None and len(recent):
        models = recent.model.astype(str)
        for kind in np.unique(models):
            rows = models == kind
            live_model = _mean_or_none(recent.model_energy_uj[rows])
            live_total = _mean_or_none(recent.energy_uj[rows][np.isfinite(recent.model_energy_uj[rows])])
            base = out.get(str(kind), ModelEnergy())
            out[str(kind)] = ModelEnergy(
                live_rows=int(np.count_nonzero(rows)), live_model_uj=live_model,
                live_overhead_uj=None if live_model is None or live_total is None else live_total - live_model,
                calibrated_model_uj=base.calibrated_model_uj, calibrated_overhead_uj=base.calibrated_overhead_uj)
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class ModelStatus:
    versions: tuple[int, ...]
    active_version: int | None


@dataclass(frozen=True)
class Status:
    """What a user (or a dashboard) wants to know about a deployment."""

    workspace: str
    active_model: str
    active_version: int | None
    models: Mapping[str, ModelStatus]
    predictions: int
    recent_r2: float | None
    recent_rows: int
    recent_energy_uj_per_prediction: float | None
    meter: Mapping[str, Any] | None
    loops: LoopsStatus
    events: EventCounts = field(default_factory=EventCounts)
    #: One line naming the loops that never run on this test stream, and the setting that would
    #: make them run (None when every loop runs).
    cadence_note: str | None = None
    #: What runs on the workspace now: lock name (inference, manager) -> the holder's command
    #: and pid, or None when free.
    running: Mapping[str, str | None] = field(default_factory=dict)
    #: Per kind, live and calibrated energy per prediction, model's own work and overhead apart.
    energy: Mapping[str, ModelEnergy] = field(default_factory=dict)
    #: The calibration's meter ("measured" or "estimated", and its source), None when uncalibrated.
    calibration_meter: Mapping[str, Any] | None = None
    #: The live correction in the newest switch run: per kind and pooled live over calibrated energy, rows.
    energy_basis: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"workspace": self.workspace, "active_model": self.active_model,
                "active_version": self.active_version,
                "models": {kind: {"versions": list(m.versions), "active_version": m.active_version}
                           for kind, m in self.models.items()},
                "predictions": self.predictions, "recent_r2": self.recent_r2, "recent_rows": self.recent_rows,
                "recent_energy_uj_per_prediction": self.recent_energy_uj_per_prediction,
                "meter": None if self.meter is None else dict(self.meter), **self.loops.to_dict(),
                "cadence_note": self.cadence_note, "running": dict(self.running),
                "energy": {kind: figures.to_dict() for kind, figures in self.energy.items()},
                "calibration_meter": None if self.calibration_meter is None else dict(self.calibration_meter),
                "energy_basis": None if self.energy_basis is None else dict(self.energy_basis)}


def _switch_start(config: Config) -> SwitchLoopState:
    """A switch loop that has not run yet: the configured start of the served kinds that
    ``switch.initial_ema`` names (all served kinds when it names none of them: another task's)."""
    named = [kind for kind in config.stream.models if kind in config.switch.initial_ema]
    return SwitchLoopState(switch=initial_switch_state(config, named or config.stream.models), next_due_s=0.0)


def read_loops(store: KnowledgeStore, config: Config | None = None) -> LoopsStatus:
    """The loops' typed state; with ``config``, a switch loop that never ran shows its start."""
    approach = read_approach(store)
    switch = store.loop_state(LoopName.SWITCH)
    initial = switch is None and config is not None
    if initial:
        assert config is not None
        switch = _switch_start(config)
    drift, retrain = store.loop_state(LoopName.DRIFT), store.loop_state(LoopName.RETRAIN)
    return LoopsStatus(approach=approach.name, loops=tuple(sorted(approach.loops)),
                       switch=switch if isinstance(switch, SwitchLoopState) else None,
                       drift=drift if isinstance(drift, DriftLoopState) else None,
                       retrain=retrain if isinstance(retrain, RetrainLoopState) else None,
                       switch_is_initial=initial)



def read_status(workspace: Workspace, *, with_events: bool = False) -> Status:
    """The status of ``workspace``, read without writing anything."""
    repository = ModelRepository(workspace)
    active = workspace.read_active_model() or workspace.config.stream.default_model
    if active not in kinds():
        raise WorkspaceError(f"{workspace.model_switch_path}: unknown model {active!r} (known: {', '.join(kinds())})")
    models = {kind: ModelStatus(tuple(versions), repository.active_version(kind))
              for kind in kinds() if (versions := repository.versions(kind))}
    if workspace.db_path.exists():  # a folder or a damaged file there is an error, not "nothing ran"
        with KnowledgeStore.open_readonly(workspace.db_path) as store:
            count, recent = store.count_predictions(), store.latest_predictions(RECENT_ROWS)
            meter = store.get_state(keys.METER)
            loops = read_loops(store, workspace.config)
            events = count_events(store.events()) if with_events else EventCounts()
            basis = latest_energy_basis(store)
    else:
        # Nothing has run here yet: the defaults, without creating the knowledge base.
        count, recent, meter, events, basis = 0, None, None, EventCounts(), None
        loops = LoopsStatus(approach=DEFAULT_APPROACH, loops=tuple(sorted(get_approach(DEFAULT_APPROACH).loops)),
                            switch=_switch_start(workspace.config), drift=None, retrain=None, switch_is_initial=True)
    rows = 0 if recent is None else len(recent)
    try:
        calibration = load_calibration(workspace.calibration_path)
    except EnergyError:
        calibration = None  # `harmone energy calibrate` names the damage; status still shows the rest
    return Status(
        workspace=str(workspace.root.resolve()), active_model=active, active_version=repository.active_version(active),
        models=MappingProxyType(models), predictions=count,
        recent_r2=(workspace.config.task.accuracy(recent.true_value, recent.predicted_value)
                   if recent is not None and rows > 1 else None),
        recent_rows=rows,
        recent_energy_uj_per_prediction=float(recent.energy_uj.mean()) if recent is not None and rows else None,
        meter=meter if isinstance(meter, Mapping) else None, loops=loops, events=events,
        cadence_note=workspace_note(workspace, loops.loops),
        running=MappingProxyType({name: None if holder is None else holder.describe()
                                  for name, holder in lock.holders(workspace.knowledge_dir).items()}),
        energy=MappingProxyType(model_energy(recent, calibration)),
        calibration_meter=None if calibration is None else {"kind": calibration.meter_kind,
                                                            "source": calibration.meter_source,
                                                            "gap_s": calibration.gap_s},
        energy_basis=basis)


def latest_energy_basis(store: KnowledgeStore) -> Mapping[str, Any] | None:
    """The live correction the newest switch run used (None before one ran, or without one)."""
    latest = store.events(loop=LoopName.SWITCH, last=1)
    basis = latest[0].observed.get("energy_basis") if latest else None
    return basis if isinstance(basis, Mapping) else None
