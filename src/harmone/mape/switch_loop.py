"""t1, the switch loop: score each model over the rows it served since the last run; switch on violations."""

from __future__ import annotations

import dataclasses
import random

from harmone.config import Config
from harmone.energy.base import EnergyMeter
from harmone.energy.calibrate import energy_range, load_calibration
from harmone.knowledge import Action, KnowledgeStore, LoopName, SwitchLoopState
from harmone.mape import execute
from harmone.mape.analyse import analyse_switch
from harmone.mape.loop_base import Loop, RunOutcome, next_time
from harmone.mape.monitor import monitor_switch
from harmone.mape.plan import plan_switch
from harmone.mape.snapshot import PredictionBatch, SwitchSnapshot, initial_switch_state
from harmone.repository import ModelRepository
from harmone.workspace import Workspace

#: The switch loop reads at most this many rows per run. Normally a run sees the ~267 rows
#: of one interval; after a long pause of the manager only the newest rows count, so a
#: restart never reads an unbounded backlog.
MAX_SWITCH_BATCH_ROWS = 20_000


def workspace_energy_range(workspace: Workspace, config: Config) -> tuple[float, float]:
    """(E_m, E_M) µJ for the switch score: the calibration when configured and present."""
    calibration = None
    if config.energy.normalisation == "calibrated":
        calibration = load_calibration(workspace.calibration_path)
    return energy_range(config.energy, calibration)


class SwitchLoop(Loop):
    """t1: score each model over the rows it served since the last run; switch on violations."""

    name = LoopName.SWITCH

    def __init__(self, *, workspace: Workspace, store: KnowledgeStore, meter: EnergyMeter, config: Config,
                 now: float, rng: random.Random, repository: ModelRepository | None = None,
                 energy_range_uj: tuple[float, float] | None = None) -> None:
        super().__init__(workspace=workspace, store=store, meter=meter, config=config, now=now,
                         repository=repository)
        self.rng = rng
        self.e_min_uj, self.e_max_uj = energy_range_uj or workspace_energy_range(workspace, config)
        stored = store.loop_state(self.name)
        if isinstance(stored, SwitchLoopState):
            self.switch_state, self.next_due_s, self.counts = stored.switch, stored.next_due_s, stored.counts
        else:
            initial = initial_switch_state(config, self.repository.trained_kinds())
            # Monitoring starts now: rows logged before the loop existed are not its business.
            self.switch_state = dataclasses.replace(initial, last_row_id=store.last_row_id())
            self.next_due_s = now + config.switch.interval_s
            self._save()

    @property
    def state(self) -> SwitchLoopState:
        return SwitchLoopState(switch=self.switch_state, next_due_s=self.next_due_s, counts=self.counts)

    def _run(self, now: float) -> RunOutcome:
        previous = self.switch_state
        start = max(previous.last_row_id, self.store.last_row_id() - MAX_SWITCH_BATCH_ROWS)
        rows = self.store.predictions_after(start)
        batch = PredictionBatch(true_value=rows.true_value, predicted_value=rows.predicted_value,
                                energy_uj=rows.energy_uj, model=rows.model.astype(str),
                                last_row_id=rows.last_row_id if len(rows) else previous.last_row_id)
        current = self._current_model()
        snapshot = SwitchSnapshot(current_model=current, available_models=tuple(self.repository.trained_kinds()),
                                  batch=batch, state=previous, e_min_uj=self.e_min_uj, e_max_uj=self.e_max_uj)
        observation = monitor_switch(snapshot, self.config)
        analysis = analyse_switch(observation, snapshot, self.config)
        plan = plan_switch(analysis, snapshot, self.config, self.rng)
        serving = execute.apply_switch(self.workspace, plan)
        self.switch_state = analysis.state
        if plan.action is Action.SWITCH:
            self._count("switches")
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
        return RunOutcome(action=plan.action, model=serving, version=self.repository.active_version(serving),
                          decision=plan.reason, observed=observed)

    def _finish(self, now: float, outcome: RunOutcome) -> None:
        self.next_due_s = next_time(self.next_due_s, self.config.switch.interval_s, now)
        self._save()
