"""``bandit``: discounted UCB over the served model kinds, with HarmonE's drift answers beside it.

Which model pays changes with the stream, so choosing one is a non-stationary (switching)
multi-armed bandit. This is Discounted UCB (D-UCB) of Garivier & Moulines, "On upper-confidence
bound policies for switching bandit problems" (ALT 2011): every switch-loop run is one round;
the arm played is the model that served the batch, and its reward is the score the switch
loop computes for it, ``beta * skill + (1 - beta) * (1 - normalised energy)`` (the Decision
Map's units, ``harmone.mape.monitor.score``). Past rewards fade by ``discount`` per round, so
a model that stopped paying loses its lead in about ``1 / (1 - discount)`` rounds. The next
model is the one with the highest discounted mean plus the padding
``reward_bound * sqrt(exploration * log(n) / N_i)`` (n: all arms' discounted plays, N_i: this
arm's); the paper's analysis asks for ``exploration > 1/2``.

Unlike the original's coin, it never explores at random: each kind starts from
``prior_plays`` pseudo-plays at its starting score (its held-out score with the skill score),
so a kind is tried again only when its padding says the evidence is too old. The paper's
rewards lie in [0, B]; the score's range is wider, but the spread between the models that
compete is about 0.2 on the built-in streams, so ``reward_bound`` is 0.2: B = 1 explored
every few rounds for differences the score never shows (these defaults are not tuned by
the matrices yet; docs/policies.md). Its constants are
``[policies.bandit]`` of harmone.toml. It keeps no budget and makes no energy-violation
switches: energy is inside the reward.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harmone.config import Config
from harmone.knowledge import Action, Decision
from harmone.knowledge.events import LoopName
from harmone.mape.analyse import SwitchAnalysis
from harmone.mape.plan import SwitchPlan
from harmone.mape.snapshot import SwitchSnapshot
from harmone.params import Interval
from harmone.policies import register
from harmone.policies.base import Policy, PolicyState


@dataclass(frozen=True)
class Arms:
    """Discounted plays ``N_i`` and discounted reward sums ``S_i`` per kind: the policy's state."""

    plays: Mapping[str, float]
    rewards: Mapping[str, float]

    @classmethod
    def from_state(cls, state: PolicyState | None) -> Arms:
        state = state or {}
        plays, rewards = state.get("plays", {}), state.get("rewards", {})
        if not isinstance(plays, Mapping) or not isinstance(rewards, Mapping):
            return cls({}, {})
        kinds = [k for k in plays if k in rewards and _finite(plays[k]) and _finite(rewards[k]) and plays[k] > 0]
        return cls({k: float(plays[k]) for k in kinds}, {k: float(rewards[k]) for k in kinds})

    def to_state(self) -> dict[str, Any]:
        return {"plays": dict(sorted(self.plays.items())), "rewards": dict(sorted(self.rewards.items()))}

    def played(self, kind: str, reward: float, discount: float) -> Arms:
        """One round: every arm fades by ``discount``, then ``kind`` earns ``reward``."""
        plays = {k: v * discount for k, v in self.plays.items()}
        rewards = {k: v * discount for k, v in self.rewards.items()}
        plays[kind] = plays.get(kind, 0.0) + 1.0
        rewards[kind] = rewards.get(kind, 0.0) + reward
        return Arms(plays, rewards)

    def with_priors(self, kinds: tuple[str, ...], ema: Mapping[str, float], config: Config, plays: float) -> Arms:
        """Each of ``kinds`` not seen yet enters with ``plays`` pseudo-plays at its starting score (EMA)."""
        new = [k for k in kinds if k not in self.plays]
        return Arms({**self.plays, **{k: plays for k in new}},
                    {**self.rewards, **{k: plays * float(ema.get(k, config.initial_ema(k))) for k in new}})

    def mean(self, kind: str) -> float:
        return self.rewards[kind] / self.plays[kind]


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@register
class DiscountedUCB(Policy):
    name = "bandit"
    description = ("discounted UCB over the served models (Garivier & Moulines 2011); "
                   "on drift reuse a stored version or retrain")
    loops = frozenset({LoopName.SWITCH, LoopName.DRIFT})
    default_params = {"discount": 0.95, "exploration": 0.6, "reward_bound": 0.2, "prior_plays": 3.0}
    parameter_constraints = {"discount": Interval(float, 0, 1, closed="right"),
                             "prior_plays": Interval(float, 0, None, closed="neither"),
                             "exploration": Interval(float, 0, None, closed="left"),
                             "reward_bound": Interval(float, 0, None, closed="neither")}

    def initial_state(self, snapshot: SwitchSnapshot, config: Config) -> PolicyState:
        """``prior_plays`` pseudo-plays per served kind at its starting score."""
        return Arms({}, {}).with_priors(snapshot.available_models, snapshot.state.ema, config,
                                        self.params(config)["prior_plays"]).to_state()

    def plan(self, analysis: SwitchAnalysis, snapshot: SwitchSnapshot, config: Config, rng: random.Random,
             state: PolicyState | None) -> tuple[SwitchPlan, PolicyState | None]:
        params = self.params(config)
        current, figures = snapshot.current_model, analysis.current
        arms = Arms.from_state(state)

        def make(action: Action, target: str | None, reason: Decision) -> SwitchPlan:
            return SwitchPlan(action=action, source=current, target=target, reason=reason, violation=None,
                              r2=figures.r2 if figures else None,
                              normalised_energy=figures.normalised_energy if figures else None,
                              ema=analysis.ema, budget=analysis.state.budget, recovery=analysis.state.recovery)

        if figures is None:
            return make(Action.NONE, None, Decision.NO_DATA), arms.to_state()
        arms = arms.played(current, figures.score, params["discount"])
        # A served kind the state has not seen (trained since) starts like the others did.
        arms = arms.with_priors(snapshot.available_models, analysis.state.ema, config, params["prior_plays"])
        target = self.choose(arms, snapshot.available_models, params)
        if target is None or target == current:
            return make(Action.NONE, None, Decision.OK), arms.to_state()
        reason = Decision.SCORE_VIOLATION if arms.mean(target) > arms.mean(current) else Decision.EXPLORE
        return make(Action.SWITCH, target, reason), arms.to_state()

    @staticmethod
    def choose(arms: Arms, candidates: tuple[str, ...], params: Mapping[str, Any]) -> str | None:
        """The candidate with the highest upper confidence bound; ties go to the first name."""
        total = sum(arms.plays[k] for k in candidates)
        log_n = math.log(max(total, 1.0))

        def bound(kind: str) -> float:
            padding = params["reward_bound"] * math.sqrt(params["exploration"] * log_n / arms.plays[kind])
            return arms.mean(kind) + padding

        return min(candidates, key=lambda kind: (-bound(kind), kind), default=None)
