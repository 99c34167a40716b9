"""Analyse of the switch loop: update the score EMAs and the energy budget, find violations.

Two budget rules (docs/algorithm.md):

- ``published``: ``T <- T + gain * (max_energy - e)``, then a violation when ``e > T``.
  With max_energy = 1 and e <= 1, T starts at 1 and never falls, so this rule can never
  report an energy violation; it is kept only to reproduce the published runs.
- ``bounded``: T is the allowance of normalised energy for one batch, the goal plus the
  credit saved in earlier batches. A batch that spent above the goal and more than its
  allowance (``e > goal`` and ``e > T``) is an energy violation; then
  ``T <- clamp(T + gain * (goal - e), 0, budget_max)``, so running above the goal drains
  the allowance and running below it refills it.

With the skill score, a current model that did worse than persistence on the batch is a
score violation whatever its EMA (``loses_to_persistence``): persistence is the bar, and
the EMA of a model that was good for long reacts too slowly to one that has stopped being.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harmone.config import Config
from harmone.mape.monitor import SwitchObservation, ModelFigures
from harmone.mape.snapshot import BudgetSettings, SwitchSnapshot, SwitchState

Violation = Literal["score", "energy"]


def update_ema(previous: float, new_score: float, gamma: float) -> float:
    """``gamma * s + (1 - gamma) * ema_prev``."""
    return gamma * new_score + (1.0 - gamma) * previous


def update_budget(budget: float, e: float, settings: BudgetSettings) -> float:
    """The budget after a batch that used normalised energy ``e``."""
    updated = budget + settings.gain * (settings.goal - e)
    if settings.rule == "bounded":
        updated = min(settings.budget_max, max(0.0, updated))
    return updated


def energy_violated(budget_before: float, budget_after: float, e: float, settings: BudgetSettings) -> bool:
    """Published: e exceeds the updated budget.

    Bounded: the batch spent above the goal and more than its allowance. A batch at or
    below the goal is paying back earlier overspending, so it is never a violation (else
    a cheap model would be switched out, possibly for a costlier one, while T refills).
    """
    if settings.rule == "published":
        return e > budget_after
    return e > settings.goal and e > budget_before


@dataclass(frozen=True)
class SwitchAnalysis:
    #: The complete state to persist after this run (EMAs, budget, recovery, last row id).
    state: SwitchState
    #: The state the run started from.
    previous: SwitchState
    current_model: str
    #: The current model's figures over this batch; None when it served too few rows.
    current: ModelFigures | None
    violation: Violation | None
    #: True when this run fell inside a recovery period (switching blocked).
    in_recovery: bool
    #: Skill score only: the current model did worse than persistence on this batch.
    loses_to_persistence: bool = False

    @property
    def has_data(self) -> bool:
        return self.current is not None

    @property
    def ema(self) -> float:
        """The current model's EMA after this run."""
        return self.state.ema[self.current_model]


def analyse_switch(observation: SwitchObservation, snapshot: SwitchSnapshot, config: Config) -> SwitchAnalysis:
    """Fold one batch into the loop state and decide whether a goal was violated.

    Every observed model's EMA moves; unobserved ones keep theirs. The budget moves with
    the current model's energy. Without figures for the current model nothing is judged
    (no evidence), but a recovery period still counts down: one run, one cycle.
    """
    switch = config.switch
    previous = snapshot.state
    settings = BudgetSettings.from_config(config)
    current_model = snapshot.current_model

    ema = dict(previous.ema)
    ema.setdefault(current_model, config.initial_ema(current_model))
    for kind, figures in observation.per_model.items():
        ema[kind] = update_ema(previous.ema.get(kind, config.initial_ema(kind)), figures.score, switch.gamma)

    current = observation.current
    budget = previous.budget
    if current is not None:
        budget = update_budget(previous.budget, current.normalised_energy, settings)

    in_recovery = previous.recovery > 0
    recovery = previous.recovery - 1 if in_recovery else 0
    violation: Violation | None = None
    if current is not None and not in_recovery:
        if energy_violated(previous.budget, budget, current.normalised_energy, settings):
            violation = "energy"
            recovery = switch.recovery_cycles
        elif ema[current_model] < switch.min_score or _loses(current):
            violation = "score"

    # Never move backwards: an empty batch must not make the next run re-read old rows.
    last_row_id = max(previous.last_row_id, observation.last_row_id)
    state = SwitchState(ema=ema, budget=budget, recovery=recovery, last_row_id=last_row_id)
    return SwitchAnalysis(state=state, previous=previous, current_model=current_model, current=current,
                          violation=violation, in_recovery=in_recovery,
                          loses_to_persistence=current is not None and not in_recovery and _loses(current))


def _loses(figures: ModelFigures) -> bool:
    return figures.skill is not None and figures.skill < 0.0
