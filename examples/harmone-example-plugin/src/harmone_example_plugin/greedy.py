"""``greedy-ema``: always serve the model with the best score EMA; never explore, keep no state."""

from harmone.knowledge import Action, Decision
from harmone.mape.plan import SwitchPlan, best_by_ema
from harmone.policies.base import Policy


class GreedyEma(Policy):
    name = "greedy-ema"
    description = "serve the best score EMA, no exploration (example plugin)"

    def plan(self, analysis, snapshot, config, rng, state):
        current, figures = snapshot.current_model, analysis.current
        target = best_by_ema(snapshot.available_models, analysis.state.ema) if figures else None
        switch = target is not None and target != current
        return SwitchPlan(action=Action.SWITCH if switch else Action.NONE, source=current,
                          target=target if switch else None,
                          reason=Decision.SCORE_VIOLATION if switch else Decision.OK if figures else Decision.NO_DATA,
                          violation=None, r2=figures.r2 if figures else None,
                          normalised_energy=figures.normalised_energy if figures else None, ema=analysis.ema,
                          budget=analysis.state.budget, recovery=analysis.state.recovery), None
