"""The three MAPE-K loops as small objects: read knowledge, decide (pure), act, record.

Each loop is built from the workspace, the knowledge store, an energy meter and the config,
at a time ``now`` of the clock that drives it. It says when it is ``due``, and ``run(now)``
does one run: it reads only what it needs (the rows since its last run, or the newest
true values, so its cost does not grow with the length of the log), hands a frozen
snapshot to the pure Monitor/Analyse/Plan functions, applies the plan through
``execute``, persists its state in one write and records one ``Event`` with the energy
of the run. A retraining in a child process finishes later: ``run`` returns None and the
event is recorded by the ``poll`` that sees the job end.

Schedules (docs/manage.md): the switch loop first runs one ``switch.interval_s`` after
it starts, the drift loop after ``drift.warmup_s``, periodic retraining after one
``retrain.interval_s``. Runs then repeat at their interval; after any drift plan that
found drift, the drift loop waits ``drift.cooldown_s`` from the end of the action.
"""

from __future__ import annotations

import dataclasses
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from harmone.config import Config
from harmone.energy.base import EnergyMeter, window
from harmone.energy.calibrate import energy_range, load_calibration, normalise
from harmone.errors import WorkspaceError
from harmone.knowledge import Event, KnowledgeStore
from harmone.mape import execute
from harmone.mape.analyse import analyse_switch
from harmone.mape.drift import (
    TargetReason,
    analyse_drift,
    choose_version,
    drift_target,
    monitor_drift,
    plan_drift,
    plan_retrain,
    version_divergences,
)
from harmone.mape.execute import RetrainError, Retrainer, RetrainJob, RetrainRequest, RetrainResult
from harmone.mape.monitor import monitor_switch
from harmone.mape.plan import plan_switch
from harmone.mape.recent import RecentValues
from harmone.mape.snapshot import DriftSnapshot, PredictionWindow, SwitchSnapshot, SwitchState
from harmone.mape.state import DRIFT_KEY, RETRAIN_KEY, SWITCH_KEY
from harmone.repository import ModelRepository
from harmone.workspace import Workspace

#: The switch loop reads at most this many rows per run. Normally a run sees the ~267 rows
#: of one interval; after a long pause of the manager only the newest rows count, so a
#: restart never reads an unbounded backlog.
MAX_SWITCH_WINDOW_ROWS = 20_000


def workspace_energy_range(workspace: Workspace, config: Config) -> tuple[float, float]:
    """(E_m, E_M) µJ for the switch score: the calibration when configured and present."""
    calibration = None
    if config.energy.normalisation == "calibrated":
        calibration = load_calibration(workspace.calibration_path)
    return energy_range(config.energy, calibration)


def next_time(due_s: float, interval_s: float, now: float) -> float:
    """Fixed-rate schedule: one interval after the due time, or after now when behind."""
    following = due_s + interval_s
    return following if following > now else now + interval_s


@dataclass
class _Outcome:
    """What one run decided and did, before it becomes an event."""

    action: str
    model: str | None
    version: int | None
    decision: str
    observed: dict[str, Any]
    job: RetrainJob | None = None
    drift_detected: bool = False


@dataclass
class _Pending:
    outcome: _Outcome
    energy_uj: float
    started_s: float


def _stored_number(key: str, raw: Mapping[str, Any], name: str) -> float:
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WorkspaceError(f"knowledge state {key!r}: {name} must be a number, found {value!r}")
    return float(value)


class Loop(ABC):
    """Schedule, persistence, retraining jobs and event recording shared by the three loops."""

    #: Name in events: "switch", "drift" or "retrain".
    name: ClassVar[str]
    #: Knowledge-state key holding this loop's state.
    key: ClassVar[str]

    def __init__(self, *, workspace: Workspace, store: KnowledgeStore, meter: EnergyMeter, config: Config,
                 now: float, repository: ModelRepository | None = None) -> None:
        self.workspace = workspace
        self.store = store
        self.meter = meter
        self.config = config
        self.repository = repository or ModelRepository(workspace)
        self._active_model = workspace.follow_active_model()
        self.next_due_s = 0.0
        self.counts: dict[str, int] = {}
        self._pending: _Pending | None = None
        #: Set by the loops that retrain.
        self.retrainer: Retrainer | None = None
        self.seed = 0

    # -- schedule --------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """True while a retraining started by this loop is still running."""
        return self._pending is not None

    def due(self, now: float) -> bool:
        return self._pending is None and now >= self.next_due_s

    # -- running ---------------------------------------------------------------------------

    def run(self, now: float) -> Event | None:
        """One run; its event, or None while a retraining it started runs elsewhere."""
        with window(self.meter) as measured:
            outcome = self._run(now)
        self._count("runs")
        if outcome.job is None:
            self._finish(now, outcome)
            return self._record(now, outcome, measured.energy_uj)
        self._pending = _Pending(outcome, measured.energy_uj, now)
        self._started(now, outcome)
        return self.poll(now)

    def poll(self, now: float) -> Event | None:
        """The event of a finished retraining; None when there is none (yet)."""
        pending = self._pending
        if pending is None or pending.outcome.job is None:
            return None
        job = pending.outcome.job
        try:
            result = job.poll()
        except RetrainError as exc:
            self._pending = None
            self._count("failures")
            outcome = dataclasses.replace(pending.outcome, action="none", job=None,
                                          decision=f"{pending.outcome.decision}; retrain-failed",
                                          observed={**pending.outcome.observed, "error": str(exc)})
            self._finish(now, outcome)
            return self._record(now, outcome, pending.energy_uj, started_s=pending.started_s)
        if result is None:
            return None
        self._pending = None
        self._count("retrains")
        decision = pending.outcome.decision if result.promoted else f"{pending.outcome.decision}; serving-version-better"
        outcome = dataclasses.replace(pending.outcome, version=result.version if result.promoted else
                                      pending.outcome.version, job=None, decision=decision,
                                      observed={**pending.outcome.observed, **_retrain_figures(result)})
        energy_uj = pending.energy_uj + (result.energy_uj if job.external else 0.0)
        self._finish(now, outcome)
        return self._record(now, outcome, energy_uj, started_s=pending.started_s)

    def fail(self, now: float, error: Exception) -> Event:
        """Record a run that raised (a damaged file, a locked database) and move on.

        The schedule advances as after a run that changed nothing, so a persistent fault
        is reported once per period instead of on every tick.
        """
        self.cancel()
        self._count("errors")
        outcome = _Outcome("none", self._current_model(), None, "error", {"error": str(error)})
        self._finish(now, outcome)
        return self._record(now, outcome, 0.0)

    def cancel(self) -> None:
        """Stop a running retraining (the manager is shutting down); nothing is recorded."""
        pending, self._pending = self._pending, None
        if pending is not None and pending.outcome.job is not None:
            pending.outcome.job.cancel()

    # -- for subclasses --------------------------------------------------------------------

    @abstractmethod
    def _run(self, now: float) -> _Outcome:
        """Read, decide and act; start a retraining job when the plan says so."""

    def _started(self, now: float, outcome: _Outcome) -> None:
        """A retraining job was started: persist what a restart should know meanwhile."""
        self._save()

    def _finish(self, now: float, outcome: _Outcome) -> None:
        """The run is complete (its job too): move the schedule and persist."""
        self._save()

    @abstractmethod
    def _state(self) -> dict[str, Any]:
        """Everything to persist, as plain JSON values."""

    def _save(self) -> None:
        self.store.set_state({self.key: self._state()})

    def _current_model(self) -> str:
        return self._active_model.read() or self.config.stream.default_model

    def _count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def _load_common(self, raw: Any) -> Mapping[str, Any] | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise WorkspaceError(f"knowledge state {self.key!r}: expected a table, found {raw!r}")
        self.next_due_s = _stored_number(self.key, raw, "next_due_s")
        counts = raw.get("counts", {})
        if not isinstance(counts, Mapping):
            raise WorkspaceError(f"knowledge state {self.key!r}: counts must be a table, found {counts!r}")
        try:
            self.counts = {str(k): int(v) for k, v in counts.items()}
        except (TypeError, ValueError):
            raise WorkspaceError(f"knowledge state {self.key!r}: counts must be whole numbers, "
                                 f"found {counts!r}") from None
        return raw

    def _record(self, now: float, outcome: _Outcome, energy_uj: float, *, started_s: float | None = None) -> Event:
        observed = dict(outcome.observed)
        if started_s is not None and started_s != now:
            observed["started_s"] = started_s
        event = Event(time_s=now, loop=self.name, action=outcome.action, model=outcome.model,
                      version=outcome.version, energy_uj=energy_uj, decision=outcome.decision, observed=observed)
        return dataclasses.replace(event, id=self.store.record_event(event))

    def _retrain(self, kind: str, values: np.ndarray, reason: str) -> RetrainJob:
        """Submit a retraining; each one gets its own seed, so a replay trains the same models."""
        seed = self.seed + self.counts.get("retrains", 0) + self.counts.get("failures", 0)
        assert self.retrainer is not None, f"the {self.name} loop does not retrain"
        return self.retrainer.submit(RetrainRequest(kind=kind, values=np.asarray(values, dtype=np.float64),
                                                    reason=reason, seed=seed))


def _retrain_figures(result: RetrainResult) -> dict[str, Any]:
    # No wall-clock durations here: a seeded simulated replay must record identical events
    # (the training time is in the version's meta.json).
    return {"new_version": result.version, "holdout_r2": result.holdout_r2, "train_energy_uj": result.energy_uj,
            "train_meter": result.meter_source, "n_train_values": result.n_values, "promoted": result.promoted,
            "serving_holdout_r2": result.serving_holdout_r2}


class SwitchLoop(Loop):
    """t1: score each model over the rows it served since the last run; switch on violations."""

    name = "switch"
    key = SWITCH_KEY

    def __init__(self, *, workspace: Workspace, store: KnowledgeStore, meter: EnergyMeter, config: Config,
                 now: float, rng: random.Random, repository: ModelRepository | None = None,
                 energy_range_uj: tuple[float, float] | None = None) -> None:
        super().__init__(workspace=workspace, store=store, meter=meter, config=config, now=now,
                         repository=repository)
        self.rng = rng
        self.e_min_uj, self.e_max_uj = energy_range_uj or workspace_energy_range(workspace, config)
        stored = self._load_common(store.get_state(self.key))
        if stored is None:
            initial = SwitchState.initial(config, self.repository.trained_kinds())
            # Monitoring starts now: rows logged before the loop existed are not its business.
            self.state = dataclasses.replace(initial, last_row_id=store.last_row_id())
            self.next_due_s = now + config.switch.interval_s
            self._save()
        else:
            raw_state = stored.get("state")
            if not isinstance(raw_state, Mapping):
                raise WorkspaceError(f"knowledge state {self.key!r}: state must be a table, found {raw_state!r}")
            self.state = SwitchState.from_dict(raw_state)

    def _state(self) -> dict[str, Any]:
        return {"state": self.state.to_dict(), "next_due_s": self.next_due_s, "counts": self.counts}

    def _run(self, now: float) -> _Outcome:
        state = self.state
        start = max(state.last_row_id, self.store.last_row_id() - MAX_SWITCH_WINDOW_ROWS)
        rows = self.store.predictions_after(start)
        window_rows = PredictionWindow(true_value=rows.true_value, predicted_value=rows.predicted_value,
                                       energy_uj=rows.energy_uj, model=rows.model.astype(str),
                                       last_row_id=rows.last_row_id if len(rows) else state.last_row_id)
        current = self._current_model()
        snapshot = SwitchSnapshot(current_model=current, available_models=tuple(self.repository.trained_kinds()),
                                  window=window_rows, state=state, e_min_uj=self.e_min_uj, e_max_uj=self.e_max_uj)
        observation = monitor_switch(snapshot, self.config)
        analysis = analyse_switch(observation, snapshot, self.config)
        plan = plan_switch(analysis, snapshot, self.config, self.rng)
        execute.apply_switch(self.workspace, plan)
        self.state = analysis.state
        if plan.action == "switch":
            self._count("switches")
        serving = plan.target if plan.action == "switch" and plan.target else current
        observed = {
            **plan.to_record(),
            "rows": observation.n_rows,
            "dropped": observation.n_dropped,
            "first_row_id": int(rows.row_id[0]) if len(rows) else None,
            "last_row_id": analysis.state.last_row_id,
            "per_model": {kind: {"rows": f.n_rows, "r2": f.r2, "energy_uj": f.mean_energy_uj,
                                 "normalised_energy": f.normalised_energy, "score": f.score}
                          for kind, f in observation.per_model.items()},
            "emas": dict(analysis.state.ema),
        }
        return _Outcome(action=plan.action, model=serving, version=self.repository.active_version(serving),
                        decision=plan.reason, observed=observed)

    def _finish(self, now: float, outcome: _Outcome) -> None:
        self.next_due_s = next_time(self.next_due_s, self.config.switch.interval_s, now)
        self._save()


class DriftLoop(Loop):
    """t2: compare the last window of true values with the one before; reuse or retrain on drift."""

    name = "drift"
    key = DRIFT_KEY

    def __init__(self, *, workspace: Workspace, store: KnowledgeStore, meter: EnergyMeter, config: Config,
                 now: float, retrainer: Retrainer, seed: int = 0,
                 repository: ModelRepository | None = None) -> None:
        super().__init__(workspace=workspace, store=store, meter=meter, config=config, now=now,
                         repository=repository)
        self.retrainer = retrainer
        self.seed = seed
        #: The newest row the in-memory window holds (persisted for status; after a restart
        #: the window is empty and is read afresh).
        self.last_row_id: int | None = None
        self.last_kl: float | None = None
        self._snapshots: dict[tuple[str, int], np.ndarray] = {}
        # The last 2 x window true values, fed with only the rows logged since the last check.
        self._recent = RecentValues(2 * config.drift.window)
        stored = self._load_common(store.get_state(self.key))
        if stored is None:
            self.next_due_s = now + config.drift.warmup_s
            self._save()
        else:
            last = stored.get("last_row_id")
            self.last_row_id = int(last) if isinstance(last, (int, float)) and not isinstance(last, bool) else None
            kl = stored.get("last_kl")
            self.last_kl = float(kl) if isinstance(kl, (int, float)) and not isinstance(kl, bool) else None

    def _state(self) -> dict[str, Any]:
        return {"next_due_s": self.next_due_s, "last_row_id": self.last_row_id, "last_kl": self.last_kl,
                "counts": self.counts}

    def _reuse_errors(self, kind: str, candidate: int, serving: int, data: np.ndarray) -> tuple[float, float]:
        """Mean squared errors of a reuse candidate and the serving version on the newest values."""
        from harmone.training import holdout_windows

        X, y = holdout_windows(data, self.config)
        errors = []
        for version in (candidate, serving):
            predictions = self.repository.load(kind, version).predict(X)
            errors.append(float(np.mean((predictions - y) ** 2)))
        return errors[0], errors[1]

    def _recent_values(self) -> np.ndarray | None:
        """The last 2 x window true values, reading only rows logged since the last check.

        None when nothing new was logged. One query in the usual case: the check runs
        every few seconds, so its reads are a good part of its energy.
        """
        capacity = self._recent.capacity
        start = (self.last_row_id or 0) if len(self._recent) else 0
        values, last = self.store.true_values_after(start, newest=capacity)
        if not values.size and start and self.store.last_row_id() < start:
            # The log was cleared and its ids start over: so does the window.
            self._recent = RecentValues(capacity)
            values, last = self.store.true_values_after(0, newest=capacity)
        if not values.size:
            return None
        self.last_row_id = last
        return self._recent.update(values).values

    def _target(self, serving: str) -> tuple[str, TargetReason]:
        """Which model to answer a detected drift with (``drift.target``); reads only then."""
        if self.config.drift.target == "serving":
            return serving, "serving"
        calibration = load_calibration(self.workspace.calibration_path)
        normalised = None
        if calibration is not None:
            e_min, e_max = energy_range(self.config.energy, calibration)
            normalised = {k: normalise(uj, e_min, e_max) for k, uj in calibration.energy_uj_per_prediction.items()}
        switch = self.store.get_state(SWITCH_KEY)
        emas = SwitchState.from_dict(switch["state"]).ema if isinstance(switch, Mapping) and "state" in switch else {}
        return drift_target(serving, self.repository.trained_kinds(), normalised, emas, self.config)

    def _snapshot(self, kind: str, version: int) -> np.ndarray:
        """A version's training data; versions never change, so each is read once."""
        key = (kind, version)
        if key not in self._snapshots:
            self._snapshots[key] = self.repository.snapshot(kind, version)
        return self._snapshots[key]

    def _run(self, now: float) -> _Outcome:
        kind = self._current_model()
        active = self.repository.active_version(kind)
        if active is None:
            return _Outcome("none", kind, None, "no-trained-model", {})
        recent = self._recent_values()
        if recent is None:
            # Nothing new was logged: the windows, and so the verdict, are the previous ones.
            return _Outcome("none", kind, active, "no-new-data", {"window_kl": self.last_kl})
        observation = monitor_drift(DriftSnapshot(recent=recent, current_model=kind, active_version=active),
                                    self.config)
        drifted = analyse_drift(observation, self.config)
        choice = None
        divergences: dict[int, float] = {}
        serving, target_reason = kind, None
        if drifted:
            target, target_reason = self._target(serving)
            target_active = self.repository.active_version(target) if target != serving else active
            if target_active is not None and target != serving:
                kind, active = target, target_active
                observation = dataclasses.replace(observation, current_model=kind, active_version=active)
            snapshots = {v: self._snapshot(kind, v) for v in self.repository.versions(kind)}
            choice = choose_version(observation.drift_data, snapshots, self.config)
            if choice is not None:
                divergences = version_divergences(observation.drift_data, snapshots, self.config)
        reuse_errors = None
        if choice is not None and self.config.drift.validate and choice[0] != active:
            reuse_errors = self._reuse_errors(kind, choice[0], active, observation.drift_data)
        plan = plan_drift(observation, drifted, choice, self.config, reuse_errors=reuse_errors)
        self.last_kl = observation.kl
        if plan.drift_detected:
            self._count("detections")
        observed: dict[str, Any] = {
            "window_kl": plan.window_kl, "version_kl": plan.version_kl, "drift_detected": plan.drift_detected,
            "values": observation.n_values, "last_row_id": self.last_row_id, "active_version": active,
            "version_kls": {str(v): kl for v, kl in sorted(divergences.items())},
        }
        if target_reason is not None:
            observed["serving_model"], observed["target"] = serving, target_reason
        if reuse_errors is not None:
            observed["candidate_mse"], observed["serving_mse"] = reuse_errors
        outcome = _Outcome(action=plan.action, model=kind, version=active, decision=plan.reason,
                           observed=observed, drift_detected=plan.drift_detected)
        if plan.action == "reuse":
            assert plan.version is not None
            execute.apply_reuse(self.repository, kind, plan.version)
            self._count("reuses")
            outcome.version = plan.version
        elif plan.action == "retrain":
            assert plan.training_data is not None
            outcome.job = self._retrain(kind, plan.training_data, "drift")
        return outcome

    def _started(self, now: float, outcome: _Outcome) -> None:
        # Provisional: if the manager stops while the job runs, a restart still waits a cooldown.
        self.next_due_s = now + self.config.drift.cooldown_s
        self._save()

    def _finish(self, now: float, outcome: _Outcome) -> None:
        if outcome.drift_detected:
            # The cooldown counts from the end of the action, not from the check.
            self.next_due_s = now + self.config.drift.cooldown_s
        else:
            self.next_due_s = next_time(self.next_due_s, self.config.drift.interval_s, now)
        self._save()


class RetrainLoop(Loop):
    """t3: every ``retrain.interval_s``, retrain the serving model on the latest true values."""

    name = "retrain"
    key = RETRAIN_KEY

    def __init__(self, *, workspace: Workspace, store: KnowledgeStore, meter: EnergyMeter, config: Config,
                 now: float, retrainer: Retrainer, model: str | None = None, seed: int = 0,
                 repository: ModelRepository | None = None) -> None:
        super().__init__(workspace=workspace, store=store, meter=meter, config=config, now=now,
                         repository=repository)
        self.retrainer = retrainer
        #: The model to retrain; None retrains whichever model serves at the time.
        self.model = model
        self.seed = seed
        stored = self._load_common(store.get_state(self.key))
        if stored is None:
            self.next_due_s = now + config.retrain.interval_s
            self._save()

    def _state(self) -> dict[str, Any]:
        return {"next_due_s": self.next_due_s, "counts": self.counts}

    def _run(self, now: float) -> _Outcome:
        # Fixed rate from the due time: a slow retraining does not shift later periods.
        self.next_due_s = next_time(self.next_due_s, self.config.retrain.interval_s, now)
        kind = self.model or self._current_model()
        active = self.repository.active_version(kind)
        if active is None:
            return _Outcome("none", kind, None, "no-trained-model", {})
        recent = self.store.latest_true_values(self.config.retrain.window)
        plan = plan_retrain(recent, self.config)
        outcome = _Outcome(action=plan.action, model=kind, version=active, decision=plan.reason,
                           observed={"values": plan.n_values, "active_version": active})
        if plan.action == "retrain":
            assert plan.training_data is not None
            outcome.job = self._retrain(kind, plan.training_data, "periodic")
        return outcome


@dataclass(frozen=True)
class LoopCounts:
    """Totals over a list of events, for summaries."""

    switches: int = 0
    reuses: int = 0
    retrains: int = 0
    drift_detections: int = 0
    failures: int = 0
    energy_uj: float = 0.0
    #: The part of ``energy_uj`` spent by runs that retrained (fitting and storing included).
    retraining_energy_uj: float = 0.0
    by_loop: dict[str, int] = field(default_factory=dict)


def count_events(events: list[Event]) -> LoopCounts:
    switches = reuses = retrains = detections = failures = 0
    energy_uj = retraining_energy_uj = 0.0
    by_loop: dict[str, int] = {}
    for event in events:
        by_loop[event.loop] = by_loop.get(event.loop, 0) + 1
        energy_uj += event.energy_uj
        switches += event.action == "switch"
        reuses += event.action == "reuse"
        retrains += event.action == "retrain"
        if event.action == "retrain":
            retraining_energy_uj += event.energy_uj
        detections += bool(event.observed.get("drift_detected"))
        failures += "retrain-failed" in event.decision
    return LoopCounts(switches=switches, reuses=reuses, retrains=retrains, drift_detections=detections,
                      failures=failures, energy_uj=energy_uj, retraining_energy_uj=retraining_energy_uj,
                      by_loop=by_loop)
