"""t2, the drift loop: feed the detector the newest values; on drift reuse a version or retrain.

The detector is fed the true values (``drift.feed = "values"``, published) or the absolute
error of each served prediction (``"errors"``: drift that the serving model absorbs is no
drift). Versions are compared, and retrained, on the true values either way.

How often it checks follows the stream: a low detector score lengthens the wait to the
next check (``drift.quiet_every``, ``drift.quiet_below``), and an optional cheap trigger
(``drift.trigger``) decides when the detector judges at all (``wait_periods``).

Each run gathers, then decides (``harmone.mape.drift``), then acts (``execute``):
detection over a ``DriftSnapshot``, the answering model over a ``TargetSnapshot``, reuse or
retrain over a ``ReuseSnapshot``. The gathering is the only reading: the calibration, the
switch loop's EMAs, versions' training samples and, with validation, the evaluation of
the candidate and the serving version.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from harmone.config import Config
from harmone.energy.base import EnergyMeter, ModelledCosts
from harmone.energy.calibrate import energy_range, load_calibration, normalise
from harmone.knowledge import Action, Decision, DriftLoopState, KnowledgeStore, LoopName, SwitchLoopState
from harmone.knowledge.events import KEEP_DECISIONS
from harmone.mape import execute
from harmone.mape.detection import graded_wait, make_detector, make_trigger
from harmone.mape.drift import (
    DriftObservation,
    DriftSnapshot,
    ReuseSnapshot,
    TargetReason,
    TargetSnapshot,
    analyse_drift,
    drift_target,
    monitor_drift,
    new_regime,
    plan_drift,
)
from harmone.mape.evaluation import Evaluation, baseline, evaluate
from harmone.mape.execute import Retrainer
from harmone.mape.loop_base import Loop, RunOutcome, next_time
from harmone.mape.recent import RecentValues
from harmone.mape.reuse import choose_across, choose_version, reuse_kinds, version_divergences
from harmone.repository import ModelRepository
from harmone.training import warm_share
from harmone.workspace import Workspace


class DriftLoop(Loop):
    """t2: compare the last window of true values with the one before; reuse or retrain on drift."""

    name = LoopName.DRIFT
    period = "drift_every_s"

    def __init__(self, *, workspace: Workspace, store: KnowledgeStore, meter: EnergyMeter, config: Config,
                 now: float, retrainer: Retrainer, seed: int = 0,
                 repository: ModelRepository | None = None, costs: ModelledCosts | None = None) -> None:
        super().__init__(workspace=workspace, store=store, meter=meter, config=config, now=now,
                         repository=repository, costs=costs)
        self.retrainer = retrainer
        self.seed = seed
        #: The newest row the in-memory window holds (persisted for status; after a restart
        #: the window is empty and is read afresh).
        self.last_row_id: int | None = None
        self.last_score: float | None = None
        self.detector = make_detector(config)
        #: ``drift.trigger``: the cheap detector that arms the check (None: always armed).
        self.trigger = make_trigger(config)
        #: Values the detector may still judge since the trigger last fired.
        self._armed_left = 0
        #: Whether the values fed since the last check completed a detection.
        self._detected = False
        self._samples: dict[tuple[str, int], np.ndarray] = {}
        # The last 2 x window true values (or record signals), fed with only the rows logged since
        # the last check, and the stream positions of the same rows where the task needs its records.
        self._recent = RecentValues(2 * config.drift.window)
        self._recent_positions = RecentValues(2 * config.drift.window)
        stored = store.loop_state(self.name)
        if isinstance(stored, DriftLoopState):
            self.next_due_s, self.counts = stored.next_due_s, stored.counts
            self.last_run_s = stored.last_run_s
            self.last_row_id, self.last_score = stored.last_row_id, stored.last_score
        else:
            self.next_due_s = now + self.schedule.drift_warmup_s
            self._save()

    def reload_config(self, config: Config, now: float) -> None:
        """New settings; a new detector, trigger, window or feed starts detection afresh.

        As after a restart: the detector and trigger are new and the next check reads the
        newest 2 x window values again (nothing from the old detector's state carries over).
        """
        afresh = _detection(config) != _detection(self.config)
        super().reload_config(config, now)
        if afresh:
            self.detector, self.trigger = make_detector(config), make_trigger(config)
            self._recent = RecentValues(2 * config.drift.window)
            self._recent_positions = RecentValues(2 * config.drift.window)
            self._armed_left, self._detected = 0, False

    @property
    def state(self) -> DriftLoopState:
        return DriftLoopState(next_due_s=self.next_due_s, counts=self.counts, last_row_id=self.last_row_id,
                              last_score=self.last_score, last_run_s=self.last_run_s)

    # -- gathering -------------------------------------------------------------------------

    def _new_values(self) -> np.ndarray | None:
        """Feed the detector the rows logged since the last check; the last 2 x window values.

        None when nothing new was logged. One query in the usual case: the check runs
        every few seconds, so its reads are a good part of its energy. With a trigger,
        the trigger is fed too, and the detector judges (its costly part) only while armed.
        """
        capacity = self._recent.capacity
        start = (self.last_row_id or 0) if len(self._recent) else 0
        values, errors, positions, last = self._read_after(start, capacity)
        if not values.size and start and self.store.last_row_id() < start:
            # The log was cleared and its ids start over: so do the window and the detector.
            self._recent, self._recent_positions = RecentValues(capacity), RecentValues(capacity)
            values, errors, positions, last = self._read_after(0, capacity)
        self.rows_read = int(values.size)
        if not values.size:
            return None
        if not len(self._recent):
            self.detector.reset()
            if self.trigger is not None:
                self.trigger.reset()
        self.last_row_id = last
        drift = self.config.drift
        fed = errors if drift.feed == "errors" and errors is not None else values
        if self.trigger is None:
            self._detected = self.detector.feed(fed)
        else:
            pulled = self.trigger.feed(errors if drift.trigger_feed == "errors" and errors is not None else values)
            self._armed_left = 2 * drift.window if pulled else max(0, self._armed_left - int(values.size))
            if self.armed:
                self._detected = self.detector.feed(fed)
            else:
                self.detector.update_many(fed)  # kept current, not judged
                self._detected = False
        if positions is not None:
            self._recent_positions.update(positions)
        return self._recent.update(values).values

    def _drift_records(self, signals: np.ndarray) -> Any:
        """The task's data behind the newest ``len(signals)`` signals of the window (the drift data)."""
        if self.config.task.records_are_values:
            return signals
        positions = self._recent_positions.values.astype(np.int64)
        return self.records(signals, positions[len(positions) - len(signals):])

    @property
    def armed(self) -> bool:
        """The detector judges: no trigger, or it fired within the last 2 x window values."""
        return self.trigger is None or self._armed_left > 0

    def wait_periods(self) -> int:
        """Drift periods until the next check: more while nothing builds up, at most ``drift.quiet_every``.

        With a trigger, ``quiet_every`` while it has not fired, else 1. Without, graded by the
        detector's last score (``detection.graded_wait``); nothing fed is skipped.
        """
        every = self.config.drift.quiet_every
        if self.trigger is not None:
            return 1 if self.armed else every
        return graded_wait(self.last_score, self.config, every)

    def _read_after(self, start: int, newest: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, int]:
        """What detection reads of the rows after ``start``: their true values (or, for a task whose
        records are more than their value, each record's signal), their errors when something is fed
        them, their stream positions where the task needs its records, and the last row id."""
        drift, task = self.config.drift, self.config.task
        if not task.records_are_values:
            true, predicted, positions, last = self.store.records_after(start, newest=newest)
            return self.signals(true, positions), task.errors(true, predicted), positions, last
        if drift.feed == "values" and (self.trigger is None or drift.trigger_feed == "values"):
            values, last = self.store.true_values_after(start, newest=newest)
            return values, None, None, last
        values, predicted, last = self.store.outcomes_after(start, newest=newest)
        return values, task.errors(values, predicted), None, last

    def _target_snapshot(self, serving: str) -> TargetSnapshot:
        """The calibration's energies and the switch loop's EMAs, read only when drift is found."""
        normalised = None
        if self.config.drift.target != "serving" or self.config.drift.reuse_scope == "all":
            calibration = load_calibration(self.workspace.calibration_path)
            if calibration is not None:
                e_min, e_max = energy_range(self.config.energy, calibration)
                normalised = {k: normalise(uj, e_min, e_max)
                              for k, uj in calibration.energy_uj_per_prediction.items()}
        switch = self.store.loop_state(LoopName.SWITCH) if normalised is not None else None
        emas = switch.switch.ema if isinstance(switch, SwitchLoopState) else {}
        trained = self.repository.trained_kinds()
        actives = {kind: v for kind in trained if (v := self.repository.active_version(kind)) is not None}
        return TargetSnapshot(serving=serving, trained=tuple(trained), normalised_energy=normalised, emas=emas,
                              active_versions=actives, retrain_cost_s=self._retrain_costs(trained))

    def _retrain_costs(self, trained: list[str]) -> dict[str, float]:
        """Estimated CPU seconds of a retraining per kind, from each newest version's meta.json."""
        costs: dict[str, float] = {}
        for kind in trained:
            versions = self.repository.versions(kind)
            meta = self.repository.meta(kind, versions[-1]) if versions else {}
            if not isinstance(meta.get("train_time_s"), (int, float)):
                continue
            # An estimate from the last fit, not a measurement (docs/algorithm.md); a fit that
            # was itself warm-started already costs what the next warm start will.
            active = self.repository.active_version(kind) is not None
            was_warm = isinstance(meta.get("metrics"), dict) and meta["metrics"].get("warm_start") is True
            costs[kind] = float(meta["train_time_s"]) * (1.0 if was_warm else warm_share(self.config, kind, active))
        return costs

    def _sample(self, kind: str, version: int) -> np.ndarray:
        """What drift compares of a version's training data (``Task.signals``); versions never change,
        so each is read once."""
        key = (kind, version)
        if key not in self._samples:
            self._samples[key] = self.config.task.signals(self.repository.snapshot(kind, version))
        return self._samples[key]

    def _reuse_snapshot(self, observation: DriftObservation, drifted: bool,
                        target: TargetSnapshot | None) -> ReuseSnapshot:
        if not drifted:
            return ReuseSnapshot(observation=observation, choice=None, divergences={})
        if self.config.drift.reuse_scope == "all" and target is not None:
            return self._reuse_across(observation, target)
        kind, active = observation.current_model, observation.active_version
        samples = {v: self._sample(kind, v) for v in self.repository.versions(kind)}
        choice = choose_version(observation.drift_data, samples, self.config)
        if choice is None:
            return ReuseSnapshot(observation=observation, choice=None, divergences={})
        divergences = version_divergences(observation.drift_data, samples, self.config)
        candidate = serving = None
        if self.config.drift.validate and choice[0] != active:
            data = self._drift_records(observation.drift_data)
            candidate = evaluate(self.repository.load(kind, choice[0]), data, self.config)
            serving = evaluate(self.repository.load(kind, active), data, self.config)
        return ReuseSnapshot(observation=observation, choice=choice, divergences=divergences, candidate=candidate,
                             serving=serving, persistence=self._persistence(observation, candidate))

    def _reuse_across(self, observation: DriftObservation, target: TargetSnapshot) -> ReuseSnapshot:
        """Every stored version of every kind that may serve within the energy goal (``reuse_scope = all``)."""
        signals = observation.drift_data
        serving_model = target.serving
        serving_version = target.active_versions.get(serving_model, observation.active_version)
        samples = {(kind, v): self._sample(kind, v)
                   for kind in reuse_kinds(target, observation.current_model, self.config)
                   for v in self.repository.versions(kind)}
        chosen = choose_across(signals, samples, observation.current_model, self.config)
        if chosen is None:
            return ReuseSnapshot(observation=observation, choice=None, divergences={})
        (kind, version), kl, divergences = chosen
        candidate = serving = None
        if self.config.drift.validate and (kind, version) != (serving_model, serving_version):
            data = self._drift_records(signals)
            candidate = evaluate(self.repository.load(kind, version), data, self.config)
            serving = evaluate(self.repository.load(serving_model, serving_version), data, self.config)
        return ReuseSnapshot(observation=observation, choice=(version, kl),
                             divergences={**{v: d for (k, v), d in divergences.items()
                                             if k == observation.current_model},
                                          **{f"{k}:{v}": d for (k, v), d in divergences.items()}},
                             candidate=candidate, serving=serving, kind=kind, serving_model=serving_model,
                             serving_version=serving_version, persistence=self._persistence(observation, candidate))

    def _persistence(self, observation: DriftObservation, candidate: object) -> Evaluation | None:
        """The task's naive baseline on the data the candidate was evaluated on."""
        if candidate is None:
            return None
        return baseline(self._drift_records(observation.drift_data), self.config)

    # -- one run ---------------------------------------------------------------------------

    def _run(self, now: float) -> RunOutcome:
        kind = self._current_model()
        active = self.repository.active_version(kind)
        if active is None:
            return RunOutcome(Action.NONE, kind, None, Decision.NO_TRAINED_MODEL, {})
        recent = self._new_values()
        if recent is None:
            # Nothing new was logged: the windows, and so the verdict, are the previous ones.
            return RunOutcome(Action.NONE, kind, active, Decision.NO_NEW_DATA, {"detector_score": self.last_score})
        if not self.armed:
            # The trigger is quiet: the costly comparison is not made at all.
            assert self.trigger is not None
            decision = Decision.NO_DRIFT if self.detector.ready else Decision.NOT_READY
            return RunOutcome(Action.NONE, kind, active, decision, {
                "detector_score": None, "drift_detected": False, "values": len(self._recent),
                "last_row_id": self.last_row_id, "active_version": active, "trigger_score": self.trigger.score})
        detector = self.detector
        observation = monitor_drift(DriftSnapshot(recent=recent, ready=detector.ready, score=detector.score,
                                                  detected=self._detected, current_model=kind,
                                                  active_version=active), self.config)
        drifted = analyse_drift(observation, self.config)
        target_reason: TargetReason | None = None
        target_snapshot: TargetSnapshot | None = None
        if drifted:
            observation = new_regime(observation, self.config)
            target_snapshot = self._target_snapshot(kind)
            target, target_reason = drift_target(target_snapshot, self.config)
            if target != kind:
                observation = dataclasses.replace(observation, current_model=target,
                                                  active_version=target_snapshot.active_versions[target])
        reuse = self._reuse_snapshot(observation, drifted, target_snapshot)
        plan = plan_drift(reuse, drifted, self.config)
        self.last_score = observation.score
        if plan.drift_detected:
            self._count("detections")
            self._armed_left = 0
        observed = _observed(plan.detector_score, plan.version_kl, plan.drift_detected, observation, self.last_row_id,
                             reuse)
        if target_reason is not None:
            observed["serving_model"], observed["target"] = kind, target_reason
        if self.trigger is not None:
            observed["trigger_score"] = self.trigger.score
        target_kind = plan.kind or observation.current_model
        target_active = observation.active_version if plan.kind is None else plan.version
        outcome = RunOutcome(action=plan.action, model=target_kind, version=target_active, decision=plan.reason,
                             observed=observed, drift_detected=plan.drift_detected)
        if plan.action is Action.REUSE:
            assert plan.version is not None
            outcome.version = execute.apply_reuse(self.repository, target_kind, plan.version)
            if plan.kind is not None and plan.kind != kind:
                self.workspace.write_active_model(plan.kind)
            self._count("reuses")
        elif plan.action is Action.RETRAIN:
            assert plan.training_data is not None
            outcome.job = self._retrain(target_kind, self._drift_records(plan.training_data), "drift")
        elif plan.reason in KEEP_DECISIONS:
            self._count("keeps")
        return outcome

    def _started(self, now: float, outcome: RunOutcome) -> None:
        # Provisional: if the manager stops while the job runs, a restart still waits a cooldown.
        self.next_due_s = now + self.schedule.drift_cooldown_s
        self._save()

    def _finish(self, now: float, outcome: RunOutcome) -> None:
        if outcome.drift_detected:
            # The cooldown counts from the end of the action, not from the check.
            self.next_due_s = now + self.schedule.drift_cooldown_s
        else:
            self.next_due_s = next_time(self.next_due_s, self.wait_periods() * self.schedule.drift_every_s, now)
        self._save()


def _detection(config: Config) -> tuple[Any, ...]:
    """The settings that shape the detector, the trigger and what they are fed."""
    drift = config.drift
    trigger = None if drift.trigger == "none" else config.detector_params(drift.trigger)
    return (drift.detector, config.detector_params(drift.detector), drift.trigger, trigger, drift.feed,
            drift.trigger_feed, drift.window)


def _observed(detector_score: float | None, version_kl: float | None, detected: bool, observation: DriftObservation,
              last_row_id: int | None, reuse: ReuseSnapshot) -> dict[str, Any]:
    """The figures a drift event records."""
    observed: dict[str, Any] = {
        "detector_score": detector_score, "version_kl": version_kl, "drift_detected": detected,
        "values": observation.n_values, "last_row_id": last_row_id, "active_version": observation.active_version,
        "version_kls": {str(v): kl for v, kl in sorted((v, kl) for v, kl in reuse.divergences.items()
                                                         if isinstance(v, int))},
    }
    across = {key: kl for key, kl in sorted((k, kl) for k, kl in reuse.divergences.items() if isinstance(k, str))}
    if across:
        observed["reuse_kls"] = across
    if reuse.candidate is not None and reuse.serving is not None:
        observed["candidate_mse"], observed["serving_mse"] = reuse.candidate.loss, reuse.serving.loss
    if reuse.persistence is not None:
        observed["persistence_mse"] = reuse.persistence.loss
    if reuse.kind is not None:
        observed["reuse_kind"] = reuse.kind
    if observation.change_at is not None:
        observed["regime_values"] = observation.change_at
    return observed
