"""t3, periodic retraining: every retraining interval, retrain the serving model on the latest values."""

from __future__ import annotations

import numpy as np

from harmone.config import Config
from harmone.errors import HarmonEError
from harmone.energy.base import EnergyMeter, ModelledCosts
from harmone.knowledge import Action, Decision, KnowledgeStore, LoopName, RetrainLoopState
from harmone.mape.execute import Retrainer
from harmone.mape.loop_base import Loop, RunOutcome, next_time
from harmone.mape.periodic import plan_retrain
from harmone.repository import ModelRepository
from harmone.workspace import Workspace


class RetrainLoop(Loop):
    """t3: every retraining interval, retrain the serving model on the latest true values."""

    name = LoopName.RETRAIN
    period = "retrain_every_s"

    def __init__(self, *, workspace: Workspace, store: KnowledgeStore, meter: EnergyMeter, config: Config,
                 now: float, retrainer: Retrainer, model: str | None = None, seed: int = 0,
                 repository: ModelRepository | None = None, costs: ModelledCosts | None = None) -> None:
        super().__init__(workspace=workspace, store=store, meter=meter, config=config, now=now,
                         repository=repository, costs=costs)
        self.retrainer = retrainer
        #: The model to retrain; None retrains whichever model serves at the time.
        self.model = model
        self.seed = seed
        stored = store.loop_state(self.name)
        if isinstance(stored, RetrainLoopState):
            self.next_due_s, self.counts = stored.next_due_s, stored.counts
            self.last_run_s = stored.last_run_s
        else:
            self.next_due_s = now + self.schedule.retrain_first_s
            self._save()

    @property
    def state(self) -> RetrainLoopState:
        return RetrainLoopState(next_due_s=self.next_due_s, counts=self.counts, last_run_s=self.last_run_s)

    def _run(self, now: float) -> RunOutcome:
        # Fixed rate from the due time: a slow retraining does not shift later periods.
        self.next_due_s = next_time(self.next_due_s, self.schedule.retrain_every_s, now)
        kind = self.model or self._current_model()
        active = self.repository.active_version(kind)
        if active is None:
            return RunOutcome(Action.NONE, kind, None, Decision.NO_TRAINED_MODEL, {})
        wanted = self.config.retrain.training_values
        if self.config.task.records_are_values:
            recent, positions = self.store.latest_true_values(wanted), None
        else:
            recent, positions = self.store.latest_records(wanted)
        plan = plan_retrain(self.signals(recent, positions), self.config, self._newest_snapshot(kind))
        outcome = RunOutcome(action=Action(plan.action), model=kind, version=active, decision=Decision(plan.reason),
                             observed={"values": plan.n_values, "active_version": active})
        if plan.action == "retrain":
            assert plan.training_data is not None
            data = plan.training_data if positions is None else self.records(recent, positions[-len(plan.training_data):])
            outcome.job = self._retrain(kind, data, "periodic")
        return outcome

    def _newest_snapshot(self, kind: str) -> np.ndarray | None:
        """What drift compares of the data the newest stored version of ``kind`` was trained on (None when
        unreadable): its values, or its records' signals."""
        versions = self.repository.versions(kind)
        if not versions:
            return None
        try:
            return self.config.task.signals(self.repository.snapshot(kind, versions[-1]))
        except HarmonEError:
            return None
