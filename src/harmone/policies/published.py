"""The published approaches as policies: HarmonE's switch rule, with the loops each one runs.

``harmone``, ``switch`` and ``switch+retrain`` share one Plan (``harmone.mape.plan``: EMAs,
the energy budget, exploration on a coin) and differ only in the loops beside it. ``fixed``
is the Plan of the single-model baselines: it pins the model and never runs, since those
approaches start no switch loop (``approaches.build_approaches`` makes ``single-<kind>``
and ``single-<kind>+retrain`` from it for every model kind).
"""

from __future__ import annotations

import random

from harmone.config import Config
from harmone.knowledge import Action, Decision
from harmone.knowledge.events import LoopName
from harmone.mape.analyse import SwitchAnalysis
from harmone.mape.plan import SwitchPlan, plan_switch
from harmone.mape.snapshot import SwitchSnapshot
from harmone.policies import register
from harmone.policies.base import Policy, PolicyState


class _PublishedRule(Policy):
    """The published switch rule; stateless beyond the loop's own EMAs and budget."""

    def plan(self, analysis: SwitchAnalysis, snapshot: SwitchSnapshot, config: Config, rng: random.Random,
             state: PolicyState | None) -> tuple[SwitchPlan, PolicyState | None]:
        return plan_switch(analysis, snapshot, config, rng), None


@register
class Harmone(_PublishedRule):
    name = "harmone"
    description = "switch models on score or energy violations; on drift reuse a stored version or retrain"
    loops = frozenset({LoopName.SWITCH, LoopName.DRIFT})


@register
class Switch(_PublishedRule):
    name = "switch"
    description = "switch models on score or energy violations only"
    loops = frozenset({LoopName.SWITCH})


@register
class SwitchRetrain(_PublishedRule):
    name = "switch+retrain"
    description = "switch models on violations and retrain the current model periodically"
    loops = frozenset({LoopName.SWITCH, LoopName.RETRAIN})


@register
class Fixed(Policy):
    """One model throughout: the Plan of the ``single-<kind>`` baselines (no switch loop runs it)."""

    name = "fixed"
    description = "serve one model kind throughout (the single-<kind> baselines)"
    loops = frozenset()

    def plan(self, analysis: SwitchAnalysis, snapshot: SwitchSnapshot, config: Config, rng: random.Random,
             state: PolicyState | None) -> tuple[SwitchPlan, PolicyState | None]:
        figures = analysis.current
        return SwitchPlan(action=Action.NONE, source=snapshot.current_model, target=None, reason=Decision.OK,
                          violation=None, r2=figures.r2 if figures else None,
                          normalised_energy=figures.normalised_energy if figures else None,
                          ema=analysis.ema, budget=analysis.state.budget, recovery=analysis.state.recovery), None
