"""t2, the drift loop: feed the detector the newest values; on drift reuse a version or retrain.

The detector is fed the true values (``drift.feed = "values"``, published) or the absolute
error of each served prediction (``"errors"``: drift that the serving model absorbs is no
drift). Versions are compared, and retrained, on the true values either way.

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
from harmone.energy.base import EnergyMeter
from harmone.energy.calibrate import energy_range, load_calibration, normalise
from harmone.knowledge import Action, Decision, DriftLoopState, KnowledgeStore, LoopName, SwitchLoopState
from harmone.mape import execute
from harmone.mape.detection import make_detector
from harmone.mape.drift import (
    DriftObservation,
    DriftSnapshot,
    ReuseSnapshot,
    TargetReason,
    TargetSnapshot,
    analyse_drift,
    drift_target,
    monitor_drift,
    plan_drift,
)
from harmone.mape.evaluation import evaluate
from harmone.mape.execute import Retrainer
from harmone.mape.loop_base import Loop, RunOutcome, next_time
from harmone.mape.recent import RecentValues
from harmone.mape.reuse import choose_version, version_divergences
from harmone.repository import ModelRepository
from harmone.workspace import Workspace


class DriftLoop(Loop):
    """t2: compare the last window of true values with the one before; reuse or retrain on drift."""

    name = LoopName.DRIFT

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
        self.last_score: float | None = None
        self.detector = make_detector(config)
        #: Whether the values fed since the last check completed a detection.
        self._detected = False
        self._samples: dict[tuple[str, int], np.ndarray] = {}
        # The last 2 x window true values, fed with only the rows logged since the last check.
        self._recent = RecentValues(2 * config.drift.window)
        stored = store.loop_state(self.name)
        if isinstance(stored, DriftLoopState):
            self.next_due_s, self.counts = stored.next_due_s, stored.counts
            self.last_row_id, self.last_score = stored.last_row_id, stored.last_score
        else:
            self.next_due_s = now + self.schedule.drift_warmup_s
            self._save()

    @property
    def state(self) -> DriftLoopState:
        return DriftLoopState(next_due_s=self.next_due_s, counts=self.counts, last_row_id=self.last_row_id,
                              last_score=self.last_score)

    # -- gathering -------------------------------------------------------------------------

    def _new_values(self) -> np.ndarray | None:
        """Feed the detector the rows logged since the last check; the last 2 x window values.

        None when nothing new was logged. One query in the usual case: the check runs
        every few seconds, so its reads are a good part of its energy.
        """
        capacity = self._recent.capacity
        start = (self.last_row_id or 0) if len(self._recent) else 0
        values, fed, last = self._read_after(start, capacity)
        if not values.size and start and self.store.last_row_id() < start:
            # The log was cleared and its ids start over: so do the window and the detector.
            self._recent = RecentValues(capacity)
            values, fed, last = self._read_after(0, capacity)
        if not values.size:
            return None
        if not len(self._recent):
            self.detector.reset()
        self.last_row_id = last
        self._detected = self.detector.feed(fed)
        return self._recent.update(values).values

    def _read_after(self, start: int, newest: int) -> tuple[np.ndarray, np.ndarray, int]:
        """True values after row ``start``, what the detector is fed of them (``drift.feed``), last row id."""
        if self.config.drift.feed == "values":
            values, last = self.store.true_values_after(start, newest=newest)
            return values, values, last
        values, predicted, last = self.store.outcomes_after(start, newest=newest)
        return values, np.abs(values - predicted), last

    def _target_snapshot(self, serving: str) -> TargetSnapshot:
        """The calibration's energies and the switch loop's EMAs, read only when drift is found."""
        normalised = None
        if self.config.drift.target != "serving":
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
                              active_versions=actives)

    def _sample(self, kind: str, version: int) -> np.ndarray:
        """A version's training sample; versions never change, so each is read once."""
        key = (kind, version)
        if key not in self._samples:
            self._samples[key] = self.repository.snapshot(kind, version)
        return self._samples[key]

    def _reuse_snapshot(self, observation: DriftObservation, drifted: bool) -> ReuseSnapshot:
        if not drifted:
            return ReuseSnapshot(observation=observation, choice=None, divergences={})
        kind, active = observation.current_model, observation.active_version
        samples = {v: self._sample(kind, v) for v in self.repository.versions(kind)}
        choice = choose_version(observation.drift_data, samples, self.config)
        if choice is None:
            return ReuseSnapshot(observation=observation, choice=None, divergences={})
        divergences = version_divergences(observation.drift_data, samples, self.config)
        candidate = serving = None
        if self.config.drift.validate and choice[0] != active:
            candidate = evaluate(self.repository.load(kind, choice[0]), observation.drift_data, self.config)
            serving = evaluate(self.repository.load(kind, active), observation.drift_data, self.config)
        return ReuseSnapshot(observation=observation, choice=choice, divergences=divergences, candidate=candidate,
                             serving=serving)

    # -- one run ---------------------------------------------------------------------------

    def _run(self, now: float) -> RunOutcome:
        kind = self._current_model()
        active = self.repository.active_version(kind)
        if active is None:
            return RunOutcome(Action.NONE, kind, None, Decision.NO_TRAINED_MODEL, {})
        recent = self._new_values()
        if recent is None:
            # Nothing new was logged: the windows, and so the verdict, are the previous ones.
            return RunOutcome(Action.NONE, kind, active, Decision.NO_NEW_DATA, {"window_kl": self.last_score})
        detector = self.detector
        observation = monitor_drift(DriftSnapshot(recent=recent, ready=detector.ready, score=detector.score,
                                                  detected=self._detected, current_model=kind,
                                                  active_version=active), self.config)
        drifted = analyse_drift(observation, self.config)
        target_reason: TargetReason | None = None
        if drifted:
            target_snapshot = self._target_snapshot(kind)
            target, target_reason = drift_target(target_snapshot, self.config)
            if target != kind:
                observation = dataclasses.replace(observation, current_model=target,
                                                  active_version=target_snapshot.active_versions[target])
        reuse = self._reuse_snapshot(observation, drifted)
        plan = plan_drift(reuse, drifted, self.config)
        self.last_score = observation.kl
        if plan.drift_detected:
            self._count("detections")
        observed = _observed(plan.window_kl, plan.version_kl, plan.drift_detected, observation, self.last_row_id,
                             reuse)
        if target_reason is not None:
            observed["serving_model"], observed["target"] = kind, target_reason
        target_kind, target_active = observation.current_model, observation.active_version
        outcome = RunOutcome(action=plan.action, model=target_kind, version=target_active, decision=plan.reason,
                             observed=observed, drift_detected=plan.drift_detected)
        if plan.action is Action.REUSE:
            assert plan.version is not None
            outcome.version = execute.apply_reuse(self.repository, target_kind, plan.version)
            self._count("reuses")
        elif plan.action is Action.RETRAIN:
            assert plan.training_data is not None
            outcome.job = self._retrain(target_kind, plan.training_data, "drift")
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
            self.next_due_s = next_time(self.next_due_s, self.schedule.drift_every_s, now)
        self._save()


def _observed(window_kl: float | None, version_kl: float | None, detected: bool, observation: DriftObservation,
              last_row_id: int | None, reuse: ReuseSnapshot) -> dict[str, Any]:
    """The figures a drift event records."""
    observed: dict[str, Any] = {
        "window_kl": window_kl, "version_kl": version_kl, "drift_detected": detected,
        "values": observation.n_values, "last_row_id": last_row_id, "active_version": observation.active_version,
        "version_kls": {str(v): kl for v, kl in sorted(reuse.divergences.items())},
    }
    if reuse.candidate is not None and reuse.serving is not None:
        observed["candidate_mse"], observed["serving_mse"] = reuse.candidate.mse, reuse.serving.mse
    return observed
