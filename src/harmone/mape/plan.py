"""Plan of the switch loop: which model should serve next, as data for Execute.

Monitor and Analyse always run first, so an exploring run still accounts for the rows the
old model served (the original explored before monitoring and later credited those rows to
the model it had just picked).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harmone.config import Config
from harmone.knowledge.events import Action, Decision
from harmone.mape.analyse import SwitchAnalysis, Violation
from harmone.mape.snapshot import SwitchSnapshot
from harmone.models import naive_kind


@dataclass(frozen=True)
class SwitchPlan:
    """What to do and why, with the figures an event record needs.

    ``reason`` says why the plan looked for a model; ``action`` says whether it switches.
    A violation can end in ``action == "none"`` when no better model is available.
    """

    #: ``Action.NONE`` or ``Action.SWITCH``.
    action: Action
    #: The model serving when the plan was made.
    source: str
    #: The model to serve next; None when the action is "none".
    target: str | None
    #: One of the switch loop's decisions (``ok``, ``no-data``, ``explore``, ``energy-violation``,
    #: ``score-violation``, ``recovery``).
    reason: Decision
    violation: Violation | None
    #: The current model's R² and normalised energy over the batch (None without data).
    r2: float | None
    normalised_energy: float | None
    #: The current model's EMA and the budget T after this run.
    ema: float
    budget: float
    recovery: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", Action(self.action))
        object.__setattr__(self, "reason", Decision(self.reason))

    def to_record(self) -> dict[str, Any]:
        """Plain values for the knowledge base's event log."""
        return {"action": self.action.value, "source": self.source, "target": self.target,
                "reason": self.reason.value, "violation": self.violation, "r2": self.r2,
                "normalised_energy": self.normalised_energy, "ema": self.ema,
                "budget": self.budget, "recovery": self.recovery}


def best_by_ema(candidates: Iterable[str], ema: Mapping[str, float]) -> str | None:
    """Highest EMA; equal EMAs go to the first name in alphabetical order."""
    return min(candidates, key=lambda kind: (-ema[kind], kind), default=None)


def cheaper(candidates: Iterable[str], current: str, calibrated_uj: Mapping[str, float],
            config: Config) -> list[str]:
    """The candidates an energy violation may switch to: with ``switch.energy_target = "cheaper"``
    only those the calibration says cost less than the current kind (all of them when the
    current kind was not calibrated); ``"any"`` (published) keeps every one."""
    current_uj = calibrated_uj.get(current)
    if config.switch.energy_target == "any" or current_uj is None:
        return list(candidates)
    return [kind for kind in candidates if calibrated_uj.get(kind, float("inf")) < current_uj]


def plan_switch(analysis: SwitchAnalysis, snapshot: SwitchSnapshot, config: Config,
                rng: random.Random) -> SwitchPlan:
    """Decide the next model.

    Every call draws exactly one number from ``rng`` (the exploration coin) and one more
    when it explores, so a run replayed with the same seed makes the same choices.
    Order: recovery or missing data block everything; then the coin (explore to another
    available model); then an energy violation (best EMA among the cheaper others), then a score
    violation (best EMA overall, no switch if that is the current model). With the skill
    score, a model that lost to persistence on the batch goes to persistence when it is
    available, before the coin is looked at: a run never ends on a model known to be worse
    than predicting the last value.
    """
    current = snapshot.current_model
    ema = {kind: analysis.state.ema.get(kind, config.initial_ema(kind)) for kind in (*snapshot.available_models, current)}
    others = [kind for kind in snapshot.available_models if kind != current]
    explore = rng.random() < config.switch.explore_probability

    def make(action: Action, target: str | None, reason: Decision) -> SwitchPlan:
        figures = analysis.current
        return SwitchPlan(action=action, source=current, target=target, reason=reason,
                          violation=analysis.violation,
                          r2=figures.r2 if figures else None,
                          normalised_energy=figures.normalised_energy if figures else None,
                          ema=ema[current], budget=analysis.state.budget, recovery=analysis.state.recovery)

    if analysis.in_recovery:
        return make(Action.NONE, None, Decision.RECOVERY)
    if not analysis.has_data:
        return make(Action.NONE, None, Decision.NO_DATA)
    if analysis.loses_to_persistence:
        naive = naive_kind()  # the registry names it (persistence)
        if current != naive and naive in snapshot.available_models:
            return make(Action.SWITCH, naive, Decision.SCORE_VIOLATION)
    if explore and others:
        return make(Action.SWITCH, rng.choice(others), Decision.EXPLORE)
    if analysis.violation == "energy":
        target = best_by_ema(cheaper(others, current, snapshot.calibrated_uj, config), ema)
        return make(Action.SWITCH if target else Action.NONE, target, Decision.ENERGY_VIOLATION)
    if analysis.violation == "score":
        target = best_by_ema(snapshot.available_models, ema)
        if target is None or target == current:
            return make(Action.NONE, None, Decision.SCORE_VIOLATION)
        return make(Action.SWITCH, target, Decision.SCORE_VIOLATION)
    return make(Action.NONE, None, Decision.OK)
