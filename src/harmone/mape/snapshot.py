"""Frozen views of knowledge that the pure Monitor/Analyse/Plan functions work on.

The loops read the knowledge base once, build one of these snapshots, and hand it to the
pure decision functions; nothing in this package reads files, databases or clocks. Arrays
are copied and made read-only so a decision can never change the data it was given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from harmone.config import Config
from harmone.errors import AdaptationError, ConfigError
from harmone.knowledge.loop_state import SwitchState

BudgetRule = Literal["published", "bounded"]


def frozen_array(values: Any, dtype: Any, name: str) -> np.ndarray:
    array = np.array(values, dtype=dtype, copy=True)
    if array.ndim != 1:
        raise AdaptationError(f"{name} must be one-dimensional, got shape {array.shape}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class BudgetSettings:
    """How the energy budget T evolves, from ``[switch]`` (validated there on load)."""

    rule: BudgetRule
    #: Goal in the update ``T <- T + gain * (goal - e)``: max_energy (published) or energy_goal.
    goal: float
    gain: float
    #: Upper clamp of T under the bounded rule (the published rule is unbounded).
    budget_max: float
    #: T at the start of a deployment.
    initial: float

    @classmethod
    def from_config(cls, config: Config) -> BudgetSettings:
        switch = config.switch
        rule: BudgetRule = "published" if switch.budget_rule == "published" else "bounded"
        goal, budget_max = switch.energy_goal, switch.budget_max
        if rule == "published":
            return cls(rule=rule, goal=switch.max_energy, gain=switch.budget_gain,
                       budget_max=math.inf, initial=switch.max_energy)
        return cls(rule=rule, goal=goal, gain=switch.budget_gain, budget_max=budget_max, initial=budget_max)


@dataclass(frozen=True, eq=False)
class PredictionBatch:
    """The prediction-log rows logged since the switch loop last ran, one entry per row."""

    true_value: np.ndarray
    predicted_value: np.ndarray
    energy_uj: np.ndarray
    #: Name of the model kind that served each row.
    model: np.ndarray
    #: Id of the newest row in the window (the previous one when the window is empty).
    last_row_id: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "true_value", frozen_array(self.true_value, np.float64, "true_value"))
        object.__setattr__(self, "predicted_value",
                           frozen_array(self.predicted_value, np.float64, "predicted_value"))
        object.__setattr__(self, "energy_uj", frozen_array(self.energy_uj, np.float64, "energy_uj"))
        object.__setattr__(self, "model", frozen_array(self.model, np.str_, "model"))
        lengths = {len(self.true_value), len(self.predicted_value), len(self.energy_uj), len(self.model)}
        if len(lengths) != 1:
            raise AdaptationError(f"window columns differ in length: {sorted(lengths)}")
        if self.last_row_id < 0:
            raise AdaptationError(f"last_row_id must be >= 0, got {self.last_row_id}")

    def __len__(self) -> int:
        return len(self.true_value)

    @classmethod
    def empty(cls, last_row_id: int = 0) -> PredictionBatch:
        return cls(true_value=[], predicted_value=[], energy_uj=[], model=[], last_row_id=last_row_id)


def initial_switch_state(config: Config, kinds: Iterable[str],
                         held_out: Mapping[str, float] | None = None) -> SwitchState:
    """The start: initial EMAs (a kind's held-out score when given, else the configured one),
    a full budget, no recovery, no rows seen."""
    held_out = held_out or {}
    return SwitchState(ema={kind: held_out.get(kind, config.initial_ema(kind)) for kind in kinds},
                       budget=BudgetSettings.from_config(config).initial, recovery=0, last_row_id=0)


@dataclass(frozen=True, eq=False)
class SwitchSnapshot:
    """Everything one switch-loop run decides on."""

    #: The model named in ``knowledge/model.csv`` when the snapshot was taken.
    current_model: str
    #: Model kinds that have a trained version (the only ones a plan may pick).
    available_models: tuple[str, ...]
    batch: PredictionBatch
    state: SwitchState
    #: Energy range for normalisation, µJ per prediction (live-corrected where configured).
    e_min_uj: float
    e_max_uj: float
    #: Each kind's calibrated energy per prediction, µJ: which kinds are cheaper (may be empty).
    calibrated_uj: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Sorted so the same set of models gives the same decisions whatever order it came in.
        object.__setattr__(self, "available_models", tuple(sorted(set(self.available_models))))
        object.__setattr__(self, "calibrated_uj", MappingProxyType(dict(self.calibrated_uj)))
        if not (math.isfinite(self.e_min_uj) and math.isfinite(self.e_max_uj)) or self.e_max_uj <= self.e_min_uj:
            raise ConfigError(f"energy range must satisfy e_min_uj < e_max_uj, got "
                             f"[{self.e_min_uj}, {self.e_max_uj}]")
