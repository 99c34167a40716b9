"""What the three MAPE-K loops share: schedule, typed state, retraining jobs, event recording.

Each loop is built from the workspace, the knowledge store, an energy meter and the config,
at a time ``now`` of the clock that drives it. It says when it is ``due``, and ``run(now)``
does one run: it reads only what it needs (the rows since its last run, or the newest
true values, so its cost does not grow with the length of the log), hands a frozen
snapshot to the pure Monitor/Analyse/Plan functions, applies the plan through
``execute``, saves its typed state in one write and records one ``Event`` with the energy
of the run. A retraining in a child process finishes later: ``run`` returns None and the
event is recorded by the ``poll`` that sees the job end.

Schedules (docs/manage.md): the switch loop first runs one switch interval after it
starts, the drift loop after the drift warm-up, periodic retraining after one retraining
interval. Runs then repeat at their interval; after any drift plan that found drift, the
drift loop waits the cooldown from the end of the action. Each timing is given in
predictions or in seconds (``harmone.cadence.Schedule`` turns it into clock seconds).

A meter that models costs is told of each run through the optional ``costs``
(``harmone.energy.base.ModelledCosts``): after the run, inside the run's energy window.
"""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar


import numpy as np

from harmone.cadence import Schedule
from harmone.config import Config
from harmone.energy.base import EnergyMeter, ModelledCosts, window
from harmone.errors import HarmonEError
from harmone.knowledge import Action, Decision, Event, KnowledgeStore, LoopName, LoopState, Outcome, RunCounts
from harmone.knowledge.events import Retraining
from harmone.mape.execute import RetrainError, Retrainer, RetrainJob, RetrainRequest, RetrainResult
from harmone.repository import ModelRepository
from harmone.tasks import Stream
from harmone.workspace import Workspace


def next_time(due_s: float, interval_s: float, now: float) -> float:
    """Fixed-rate schedule: one interval after the due time, or after now when behind."""
    following = due_s + interval_s
    return following if following > now else now + interval_s


@dataclass
class RunOutcome:
    """What one run decided and did, before it becomes an event."""

    action: Action
    model: str | None
    version: int | None
    decision: Decision
    observed: dict[str, Any] = field(default_factory=dict)
    job: RetrainJob | None = None
    drift_detected: bool = False
    outcome: Outcome | None = None


@dataclass
class _Pending:
    outcome: RunOutcome
    energy_uj: float
    started_s: float


def error_text(error: BaseException) -> str:
    """One line: a HarmonEError's message names the fault; anything else also its type."""
    return str(error) if isinstance(error, HarmonEError) else f"{type(error).__name__}: {error}"


class Loop(ABC):
    """Schedule, persistence, retraining jobs and event recording shared by the three loops."""

    name: ClassVar[LoopName]
    #: The ``Schedule`` field that is this loop's period between runs.
    period: ClassVar[str]

    def __init__(self, *, workspace: Workspace, store: KnowledgeStore, meter: EnergyMeter, config: Config,
                 now: float, repository: ModelRepository | None = None, costs: ModelledCosts | None = None) -> None:
        self.workspace = workspace
        self.store = store
        self.meter = meter
        #: Told of every run, with the rows it read, inside its window (a meter that models costs).
        self.costs = costs
        self.config = config
        self.schedule = Schedule.of(config)
        self.repository = repository or ModelRepository(workspace)
        self._active_model = workspace.follow_active_model()
        self.next_due_s = 0.0
        self.counts = RunCounts()
        #: Wall seconds of the last run (in loop state for readers such as /metrics, never in
        #: events: a seeded replay must record identical events).
        self.last_run_s: float | None = None
        #: Rows the last run read from the knowledge base (a run's cost grows with them).
        self.rows_read = 0
        self._pending: _Pending | None = None
        #: Set by the loops that retrain.
        self.retrainer: Retrainer | None = None
        self.seed = 0
        self._stream: Stream | None = None

    # -- the records behind logged rows ----------------------------------------------------

    def stream(self) -> Stream:
        """The test stream, read on first use: what a logged row's position names (classification)."""
        if self._stream is None:
            self._stream = self.config.task.read_stream(self.workspace.test_path, self.config)
        return self._stream

    def signals(self, values: np.ndarray, positions: np.ndarray | None) -> np.ndarray:
        """What drift detection compares, per logged row: the true value itself, or ``Task.signals`` of
        the record at the row's position."""
        if self.config.task.records_are_values or positions is None:
            return values
        return self.stream().signals_at(positions)

    def records(self, values: np.ndarray, positions: np.ndarray | None) -> Any:
        """The task's training data behind logged rows: the values themselves, or the records at their
        positions."""
        if self.config.task.records_are_values or positions is None:
            return values
        return self.stream().data_at(positions)

    # -- schedule --------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """True while a retraining started by this loop is still running."""
        return self._pending is not None

    def due(self, now: float) -> bool:
        return self._pending is None and now >= self.next_due_s

    def reload_config(self, config: Config, now: float) -> None:
        """Take up changed settings (``harmone.config_reload``): the next run reads them.

        A shorter period brings the next run closer, to one new period from ``now`` at the
        latest; a longer one applies from the next run on. Waits that start a loop (the
        first run, the drift warm-up) were already counted from its start.
        """
        before = getattr(self.schedule, self.period)
        self.config, self.schedule = config, Schedule.of(config)
        after = getattr(self.schedule, self.period)
        if after < before and self._pending is None and self.next_due_s > now + after:
            self.next_due_s = now + after
            self._save()

    # -- running ---------------------------------------------------------------------------

    def run(self, now: float) -> Event | None:
        """One run; its event, or None while a retraining it started runs elsewhere."""
        started = time.perf_counter()
        self.rows_read = 0
        with window(self.meter) as measured:
            outcome = self._run(now)
            if self.costs is not None:
                self.costs.charge_run(str(self.name), self.rows_read)
        self.last_run_s = time.perf_counter() - started
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
            outcome = dataclasses.replace(pending.outcome, action=Action.NONE, job=None, outcome=Outcome.FAILED,
                                          observed={**pending.outcome.observed, "error": str(exc)})
            self._finish(now, outcome)
            return self._record(now, outcome, pending.energy_uj, started_s=pending.started_s)
        if result is None:
            return None
        self._pending = None
        self._count("retrains")
        outcome = dataclasses.replace(
            pending.outcome, version=result.version if result.promoted else pending.outcome.version, job=None,
            outcome=Outcome.PROMOTED if result.promoted else Outcome.KEPT_SERVING,
            observed={**pending.outcome.observed, **_retraining(result).to_dict()})
        energy_uj = pending.energy_uj + (result.energy_uj if job.external else 0.0)
        self._finish(now, outcome)
        return self._record(now, outcome, energy_uj, started_s=pending.started_s)

    def fail(self, now: float, error: BaseException) -> Event:
        """Record a run that raised (a damaged file, a locked database, a bug) and move on.

        The schedule advances as after a run that changed nothing, so a persistent fault
        is reported once per period instead of on every tick.
        """
        self.cancel()
        self._count("errors")
        try:
            model: str | None = self._current_model()
        except HarmonEError:  # a damaged model.csv may be the very fault
            model = None
        outcome = RunOutcome(Action.NONE, model, None, Decision.ERROR, {"error": error_text(error)})
        try:
            self._finish(now, outcome)
            return self._record(now, outcome, 0.0)
        except Exception as exc:  # noqa: BLE001 - the store itself fails: report, unrecorded
            observed = {"error": error_text(error), "not_recorded": error_text(exc)}
            return Event(time_s=now, loop=self.name, action=Action.NONE, model=outcome.model,
                         decision=Decision.ERROR, observed=observed)

    def cancel(self) -> None:
        """Stop a running retraining (the manager is shutting down); nothing is recorded."""
        pending, self._pending = self._pending, None
        if pending is not None and pending.outcome.job is not None:
            pending.outcome.job.cancel()

    # -- for subclasses --------------------------------------------------------------------

    @abstractmethod
    def _run(self, now: float) -> RunOutcome:
        """Read, decide and act; start a retraining job when the plan says so."""

    @property
    @abstractmethod
    def state(self) -> LoopState:
        """Everything a restart (or ``harmone status``) needs, as one typed value."""

    def _started(self, now: float, outcome: RunOutcome) -> None:
        """A retraining job was started: persist what a restart should know meanwhile."""
        self._save()

    def _finish(self, now: float, outcome: RunOutcome) -> None:
        """The run is complete (its job too): move the schedule and persist."""
        self._save()

    def _save(self) -> None:
        self.store.save_loop_state(self.state)

    def _current_model(self) -> str:
        return self._active_model.read() or self.config.stream.default_model

    def _count(self, name: str) -> None:
        self.counts = self.counts.plus(name)

    def _record(self, now: float, outcome: RunOutcome, energy_uj: float, *, started_s: float | None = None) -> Event:
        observed = dict(outcome.observed)
        if started_s is not None and started_s != now:
            observed["started_s"] = started_s
        event = Event(time_s=now, loop=self.name, action=outcome.action, model=outcome.model,
                      version=outcome.version, energy_uj=energy_uj, decision=outcome.decision, observed=observed,
                      outcome=outcome.outcome)
        return dataclasses.replace(event, id=self.store.record_event(event))

    def _retrain(self, kind: str, data: Any, reason: str) -> RetrainJob:
        """Submit a retraining; each one gets its own seed, so a replay trains the same models."""
        seed = self.seed + self.counts.retrains + self.counts.failures
        assert self.retrainer is not None, f"the {self.name} loop does not retrain"
        return self.retrainer.submit(RetrainRequest(kind=kind, data=data,
                                                    reason=reason, seed=seed, config=self.config))


def _retraining(result: RetrainResult) -> Retraining:
    # No wall-clock durations here: a seeded simulated replay must record identical events
    # (the training time is in the version's meta.json).
    return Retraining(new_version=result.version, holdout_r2=result.holdout_r2, train_energy_uj=result.energy_uj,
                      train_meter=result.meter_source, n_train_values=result.n_values, promoted=result.promoted,
                      serving_holdout_r2=result.serving_holdout_r2)
