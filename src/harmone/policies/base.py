"""The policy contract: what the switch loop's Plan step is, so a strategy can be swapped in.

A policy decides, from the snapshot the switch loop already gathers (``SwitchSnapshot``) and
what Analyse made of it (``SwitchAnalysis``: EMAs, budget, violation, the current model's
figures), which model serves next, and says which loops run beside it (``loops``). It is a
pure function of those, of the run's seeded random source and of its own state: plain JSON
values the loop stores with its own state (``SwitchLoopState.policy``) and hands back at the
next run. Nothing else, no clock, no file; so a replay with the model meter and the same seed
makes the same decisions, and a restarted manager continues where the last one stopped.

Its constants are ``[policies.<name>]`` tables of harmone.toml, declared like a detector's:
``default_params`` and ``parameter_constraints`` (``harmone.params``).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from harmone.config import Config
from harmone.errors import ConfigError
from harmone.knowledge.events import LoopName
from harmone.mape.analyse import SwitchAnalysis
from harmone.mape.plan import SwitchPlan
from harmone.mape.snapshot import SwitchSnapshot
from harmone.params import Constraint, validate

#: A policy's own state: JSON values only (the knowledge base stores it as it is).
PolicyState = Mapping[str, Any]


class Policy(ABC):
    """One adaptation strategy. Subclasses set the class attributes and implement ``plan``."""

    #: The approach name it runs under (``harmone approach NAME``, ``--approaches NAME``).
    name: ClassVar[str]
    #: One line for ``harmone approach``.
    description: ClassVar[str]
    #: The loops that run: the switch loop (whose Plan this is) and any of drift and retrain.
    loops: ClassVar[frozenset[str]] = frozenset({LoopName.SWITCH})
    #: Constants, overridable in ``[policies.<name>]``.
    default_params: ClassVar[Mapping[str, Any]] = {}
    parameter_constraints: ClassVar[Mapping[str, Constraint]] = {}

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Raise ``ConfigError`` naming the setting when it is unknown or breaks its constraint."""
        validate(cls.parameter_constraints, params, error=ConfigError)

    @classmethod
    def params(cls, config: Config) -> dict[str, Any]:
        """Every constant in effect: the defaults, then ``[policies.<name>]``."""
        return {**cls.default_params, **config.policies.get(cls.name, {})}

    def initial_state(self, snapshot: SwitchSnapshot, config: Config) -> PolicyState | None:
        """The state before the first run (None: the policy keeps none). ``snapshot.state.ema``
        holds each served kind's starting score (its held-out score with the skill score)."""
        return None

    @abstractmethod
    def plan(self, analysis: SwitchAnalysis, snapshot: SwitchSnapshot, config: Config, rng: random.Random,
             state: PolicyState | None) -> tuple[SwitchPlan, PolicyState | None]:
        """The plan of this run and the state to store for the next.

        ``rng`` is the run's seeded random source: a policy that draws from it must draw the
        same number of times for the same inputs, so replays stay deterministic.
        """
