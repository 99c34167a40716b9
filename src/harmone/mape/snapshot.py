"""Frozen views of knowledge that the pure Monitor/Analyse/Plan functions work on.

The loops read the knowledge base once, build one of these snapshots, and hand it to the
pure decision functions; nothing in this package reads files, databases or clocks. Arrays
are copied and made read-only so a decision can never change the data it was given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from harmone.config import Config
from harmone.errors import WorkspaceError

BudgetRule = Literal["published", "bounded"]


def _frozen_array(values: Any, dtype: Any, name: str) -> np.ndarray:
    array = np.array(values, dtype=dtype, copy=True)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
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
class PredictionWindow:
    """The prediction-log rows written since the switch loop last ran, one entry per row."""

    true_value: np.ndarray
    predicted_value: np.ndarray
    energy_uj: np.ndarray
    #: Name of the model kind that served each row.
    model: np.ndarray
    #: Id of the newest row in the window (the previous one when the window is empty).
    last_row_id: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "true_value", _frozen_array(self.true_value, np.float64, "true_value"))
        object.__setattr__(self, "predicted_value",
                           _frozen_array(self.predicted_value, np.float64, "predicted_value"))
        object.__setattr__(self, "energy_uj", _frozen_array(self.energy_uj, np.float64, "energy_uj"))
        object.__setattr__(self, "model", _frozen_array(self.model, np.str_, "model"))
        lengths = {len(self.true_value), len(self.predicted_value), len(self.energy_uj), len(self.model)}
        if len(lengths) != 1:
            raise ValueError(f"window columns differ in length: {sorted(lengths)}")
        if self.last_row_id < 0:
            raise ValueError(f"last_row_id must be >= 0, got {self.last_row_id}")

    def __len__(self) -> int:
        return len(self.true_value)

    @classmethod
    def empty(cls, last_row_id: int = 0) -> PredictionWindow:
        return cls(true_value=[], predicted_value=[], energy_uj=[], model=[], last_row_id=last_row_id)


@dataclass(frozen=True)
class SwitchState:
    """What the switch loop carries from one run to the next; persisted in one write."""

    #: Score EMA per model kind; a kind missing here starts from ``config.initial_ema(kind)``.
    ema: Mapping[str, float]
    #: The energy budget T, in normalised-energy units.
    budget: float
    #: Runs left during which no switch may happen.
    recovery: int
    #: Id of the last prediction-log row already accounted for.
    last_row_id: int

    def __post_init__(self) -> None:
        ema = {str(kind): float(value) for kind, value in dict(self.ema).items()}
        for kind, value in ema.items():
            if not math.isfinite(value):
                raise ValueError(f"ema[{kind!r}] must be finite, got {value!r}")
        object.__setattr__(self, "ema", MappingProxyType(ema))
        if not math.isfinite(self.budget):
            raise ValueError(f"budget must be finite, got {self.budget!r}")
        if self.recovery < 0:
            raise ValueError(f"recovery must be >= 0, got {self.recovery}")
        if self.last_row_id < 0:
            raise ValueError(f"last_row_id must be >= 0, got {self.last_row_id}")

    @classmethod
    def initial(cls, config: Config, kinds: Iterable[str]) -> SwitchState:
        """The published start: initial EMAs, a full budget, no recovery, no rows seen."""
        return cls(ema={kind: config.initial_ema(kind) for kind in kinds},
                   budget=BudgetSettings.from_config(config).initial, recovery=0, last_row_id=0)

    def ema_of(self, kind: str, config: Config) -> float:
        return self.ema.get(kind, config.initial_ema(kind))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, the inverse of ``from_dict``."""
        return {"ema": dict(self.ema), "budget": self.budget, "recovery": self.recovery,
                "last_row_id": self.last_row_id}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SwitchState:
        """Rebuild a stored state; a damaged one raises ``WorkspaceError`` naming the key."""
        def number(key: str, value: Any, kind: type) -> Any:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                    kind is int and not float(value).is_integer()):
                raise WorkspaceError(f"switch state: {key} must be {kind.__name__}, got {value!r}")
            return kind(value)

        missing = [key for key in ("ema", "budget", "recovery", "last_row_id") if key not in raw]
        if missing:
            raise WorkspaceError(f"switch state: missing key {missing[0]!r}")
        if not isinstance(raw["ema"], Mapping):
            raise WorkspaceError(f"switch state: ema must be a table, got {raw['ema']!r}")
        ema = {str(kind): number(f"ema.{kind}", value, float) for kind, value in raw["ema"].items()}
        try:
            return cls(ema=ema, budget=number("budget", raw["budget"], float),
                       recovery=number("recovery", raw["recovery"], int),
                       last_row_id=number("last_row_id", raw["last_row_id"], int))
        except ValueError as exc:
            raise WorkspaceError(f"switch state: {exc}") from None


@dataclass(frozen=True, eq=False)
class SwitchSnapshot:
    """Everything one switch-loop run decides on."""

    #: The model named in ``knowledge/model.csv`` when the snapshot was taken.
    current_model: str
    #: Model kinds that have a trained version (the only ones a plan may pick).
    available_models: tuple[str, ...]
    window: PredictionWindow
    state: SwitchState
    #: Energy range for normalisation, µJ per prediction.
    e_min_uj: float
    e_max_uj: float

    def __post_init__(self) -> None:
        # Sorted so the same set of models gives the same decisions whatever order it came in.
        object.__setattr__(self, "available_models", tuple(sorted(set(self.available_models))))
        if not (math.isfinite(self.e_min_uj) and math.isfinite(self.e_max_uj)) or self.e_max_uj <= self.e_min_uj:
            raise ValueError(f"energy range must satisfy e_min_uj < e_max_uj, got "
                             f"[{self.e_min_uj}, {self.e_max_uj}]")


@dataclass(frozen=True, eq=False)
class DriftSnapshot:
    """The newest true values, in time order, for one drift-loop run."""

    #: The last 2 x drift.window true values (fewer when the stream is young).
    recent: np.ndarray
    current_model: str
    #: Version of ``current_model`` being served.
    active_version: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "recent", _frozen_array(self.recent, np.float64, "recent"))
