"""t1, the switch loop: score each model over the rows it served since the last run; switch on violations.

It chooses only among the kinds the deployment serves (``stream.models``) that have a
trained version. With the skill score each model starts at the score of its active
version on its held-out data (skill over persistence there, and its calibrated energy),
so a model that was never tried competes on evidence rather than on a guessed EMA.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable

from harmone.config import Config
from harmone.energy.base import EnergyMeter, ModelledCosts
import numpy as np

from harmone.energy.calibrate import energy_range, load_calibration, normalise
from harmone.knowledge import Action, KnowledgeStore, LoopName, SwitchLoopState, keys
from harmone.mape import execute
from harmone.mape.analyse import analyse_switch
from harmone.mape.detection import graded_wait
from harmone.mape.energy_basis import SumsWindow, correct, kind_sums
from harmone.mape.loop_base import Loop, RunOutcome, next_time
from harmone.mape.monitor import ModelFigures, monitor_switch, score
from harmone.mape.snapshot import PredictionBatch, SwitchSnapshot, initial_switch_state
from harmone import policies
from harmone.policies.base import Policy
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
    period = "switch_every_s"

    def __init__(self, *, workspace: Workspace, store: KnowledgeStore, meter: EnergyMeter, config: Config,
                 now: float, rng: random.Random, repository: ModelRepository | None = None,
                 energy_range_uj: tuple[float, float] | None = None,
                 drift_score: Callable[[], float | None] | None = None, costs: ModelledCosts | None = None,
                 policy: Policy | None = None) -> None:
        super().__init__(workspace=workspace, store=store, meter=meter, config=config, now=now,
                         repository=repository, costs=costs)
        self.rng = rng
        #: The Plan step (``harmone.policies``): the published rule unless the approach names another.
        self.policy: Policy = policy if policy is not None else policies.get("harmone")
        #: The drift loop's last detector score, where one runs beside this loop: while it
        #: sees nothing building up the model ranking has no new regime to follow, so runs
        #: may wait (``switch.quiet_every``).
        self.drift_score = drift_score
        self._energy_by_kind: dict[str, float] | None = None
        self._energy_range_uj = energy_range_uj
        self.e_min_uj, self.e_max_uj = energy_range_uj or workspace_energy_range(workspace, config)
        calibration = load_calibration(workspace.calibration_path)
        #: Each kind's calibrated energy per prediction, µJ (empty without a calibration).
        self.calibrated_uj = dict(calibration.energy_uj_per_prediction) if calibration is not None else {}
        #: The newest rows' model energy per kind: the live side of the energy basis.
        self._live_sums = SumsWindow(config.energy.correction_rows)
        stored = store.loop_state(self.name)
        if isinstance(stored, SwitchLoopState):
            self.switch_state, self.next_due_s, self.counts = stored.switch, stored.next_due_s, stored.counts
            self.last_run_s = stored.last_run_s
            self.policy_state = stored.policy
        else:
            self.policy_state = None
            initial = initial_switch_state(config, self.served_kinds(), self._held_out_scores())
            # Monitoring starts now: rows logged before the loop existed are not its business.
            self.switch_state = dataclasses.replace(initial, last_row_id=store.last_row_id())
            self.next_due_s = now + self.schedule.switch_first_s
            self._save()

    def reload_config(self, config: Config, now: float) -> None:
        """New settings; the energy range follows ``[energy]`` (normalisation, e_min_uj, e_max_uj)."""
        super().reload_config(config, now)
        self.e_min_uj, self.e_max_uj = self._energy_range_uj or workspace_energy_range(self.workspace, config)
        self._energy_by_kind = None
        self._live_sums.rows = config.energy.correction_rows

    def served_kinds(self) -> tuple[str, ...]:
        """Trained kinds this deployment serves: the only ones a plan may pick."""
        served = set(self.config.stream.models)
        return tuple(kind for kind in self.repository.trained_kinds() if kind in served)

    def _held_out_scores(self) -> dict[str, float]:
        """Skill score: each served kind's starting EMA from its active version's held-out skill."""
        if self.config.switch.score != "skill":
            return {}
        energies = self.calibrated_uj
        scores = {}
        for kind in self.served_kinds():
            version = self.repository.active_version(kind)
            skill = self.repository.meta(kind, version).get("metrics", {}).get("holdout_skill") if version else None
            if isinstance(skill, (int, float)) and skill == skill:
                e = normalise(energies[kind], self.e_min_uj, self.e_max_uj) if kind in energies else 0.5
                scores[kind] = score(max(-1.0, min(1.0, float(skill))), e, self.config.switch.beta)
        return scores

    @property
    def state(self) -> SwitchLoopState:
        return SwitchLoopState(switch=self.switch_state, next_due_s=self.next_due_s, counts=self.counts,
                               last_run_s=self.last_run_s, policy=self.policy_state)

    def _run(self, now: float) -> RunOutcome:
        previous = self.switch_state
        start = max(previous.last_row_id, self.store.last_row_id() - MAX_SWITCH_BATCH_ROWS)
        rows = self.store.predictions_after(start)
        self.rows_read = len(rows)
        # Models are compared on their own work; rows of older releases carry only the whole step.
        model_uj = np.where(np.isnan(rows.model_energy_uj), rows.energy_uj, rows.model_energy_uj)
        models = rows.model.astype(str)
        compared_uj, correction = model_uj, None
        if self._corrects_live():
            self._live_sums.update(kind_sums(models, model_uj))
            correction = correct(self._live_sums.get(), self.calibrated_uj)
            if correction is not None:
                compared_uj = correction.rescale(models, model_uj)
        batch = PredictionBatch(true_value=rows.true_value, predicted_value=rows.predicted_value,
                                energy_uj=compared_uj, model=models,
                                last_row_id=rows.last_row_id if len(rows) else previous.last_row_id)
        current = self._current_model()
        snapshot = SwitchSnapshot(current_model=current, available_models=self.served_kinds(),
                                  batch=batch, state=previous, e_min_uj=self.e_min_uj, e_max_uj=self.e_max_uj,
                                  calibrated_uj=self.calibrated_uj)
        observation = monitor_switch(snapshot, self.config)
        analysis = analyse_switch(observation, snapshot, self.config)
        if self.policy_state is None:
            self.policy_state = self.policy.initial_state(snapshot, self.config)
        plan, self.policy_state = self.policy.plan(analysis, snapshot, self.config, self.rng, self.policy_state)
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
            "per_model": {kind: {**_figures_record(f), **_energy_record(rows.energy_uj, model_uj, models == kind)}
                          for kind, f in observation.per_model.items()},
            "emas": dict(analysis.state.ema),
            "energy_basis": correction.to_record() if correction is not None else None,
        }
        return RunOutcome(action=plan.action, model=serving, version=self.repository.active_version(serving),
                          decision=plan.reason, observed=observed)

    def _corrects_live(self) -> bool:
        """Correct the calibrated range from live rows: configured, calibrated, and rows really metered.

        Rows charged by the model meter cost exactly their calibration, so there is nothing to
        correct (and a factor of 1 up to rounding must not move a replay's decisions).
        """
        energy = self.config.energy
        if not (energy.live_correction and energy.normalisation == "calibrated" and self.calibrated_uj):
            return False
        meter = self.store.get_state(keys.METER, None)
        return not (isinstance(meter, dict) and meter.get("modelled"))

    def wait_periods(self, serving: str | None, switched: bool = False) -> int:
        """Switch periods until the next run: 1, or graded by the drift score (``switch.quiet_every``).

        Only the best cheap model waits: within ``switch.energy_goal`` by the calibration, no
        cheap kind with a higher score EMA, and not just switched to (by a violation or by
        exploration). Any other is judged every period, as without a drift loop, so the energy
        budget, the score and exploration act on it as soon as they would.
        """
        every = self.config.switch.quiet_every
        if every == 1 or self.drift_score is None or switched or serving is None:
            return 1
        energy, goal = self._normalised_energy(), self.config.switch.energy_goal
        emas = self.switch_state.ema
        if energy.get(serving, math.inf) > goal or serving not in emas:
            return 1
        if any(ema > emas[serving] for kind, ema in emas.items() if energy.get(kind, math.inf) <= goal):
            return 1
        return graded_wait(self.drift_score(), self.config, every)

    def _normalised_energy(self) -> dict[str, float]:
        """Each kind's calibrated energy per prediction on the score's scale."""
        if self._energy_by_kind is None:
            self._energy_by_kind = {kind: normalise(e, self.e_min_uj, self.e_max_uj)
                                    for kind, e in self.calibrated_uj.items()}
        return self._energy_by_kind

    def _finish(self, now: float, outcome: RunOutcome) -> None:
        periods = self.wait_periods(outcome.model, switched=outcome.action is Action.SWITCH)
        self.next_due_s = next_time(self.next_due_s, periods * self.schedule.switch_every_s, now)
        self._save()


def _energy_record(step_uj: np.ndarray, model_uj: np.ndarray, rows: np.ndarray) -> dict[str, float | None]:
    """Mean live model energy and serving overhead (the step less the model's work) over ``rows``."""
    mine, overhead = model_uj[rows], step_uj[rows] - model_uj[rows]
    mine, overhead = mine[np.isfinite(mine)], overhead[np.isfinite(overhead)]
    return {"energy_uj": float(mine.mean()) if len(mine) else None,
            "overhead_uj": float(overhead.mean()) if len(overhead) else None}


def _figures_record(figures: ModelFigures) -> dict[str, float | int | None]:
    record: dict[str, float | int | None] = {
        "rows": figures.n_rows, "r2": figures.r2, "energy_uj": figures.mean_energy_uj,
        "normalised_energy": figures.normalised_energy, "score": figures.score}
    if figures.skill is not None:
        record["skill"] = figures.skill
    return record
