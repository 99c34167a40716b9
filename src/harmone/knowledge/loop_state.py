"""What each loop carries from one run to the next, as frozen values.

A loop holds one of these, replaces it after a run, and the store writes it under the
loop's key in one transaction; ``harmone status`` and a restarted manager read the same
types back (``harmone.knowledge.codec`` is the only code that turns them into JSON).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from harmone.knowledge.events import LoopName


@dataclass(frozen=True)
class RunCounts:
    """How often a loop ran and what its runs did; stored as a table of the non-zero ones."""

    runs: int = 0
    switches: int = 0
    detections: int = 0
    reuses: int = 0
    #: Drifts answered by keeping the serving version (it fits, or validation kept it).
    keeps: int = 0
    retrains: int = 0
    #: Retrainings that failed.
    failures: int = 0
    #: Runs that raised (a damaged file, a locked database).
    errors: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"{f.name} must be >= 0, got {getattr(self, f.name)}")

    def plus(self, name: str) -> RunCounts:
        return replace(self, **{name: getattr(self, name) + 1})

    def nonzero(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


@dataclass(frozen=True)
class SwitchState:
    """What the switch rule carries from one run to the next."""

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


@dataclass(frozen=True, kw_only=True)
class LoopSchedule:
    """What every loop keeps: when it runs next, its counts, how long its last run took."""

    next_due_s: float
    counts: RunCounts = field(default_factory=RunCounts)
    #: Wall seconds of the last run (its watching and deciding; a retraining child not included).
    last_run_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class SwitchLoopState(LoopSchedule):
    """t1: its schedule and the switch rule's state."""

    switch: SwitchState
    #: The policy's own state (plain JSON values; ``harmone.policies``), None for a policy without one.
    policy: Mapping[str, Any] | None = None
    loop: LoopName = field(default=LoopName.SWITCH, init=False)


@dataclass(frozen=True, kw_only=True)
class DriftLoopState(LoopSchedule):
    """t2: its schedule and the detector's last reading."""

    #: The newest row the detector has seen (after a restart its window is read afresh).
    last_row_id: int | None = None
    #: The detector's last score (stored as ``last_score``; earlier releases: ``last_kl``).
    last_score: float | None = None
    loop: LoopName = field(default=LoopName.DRIFT, init=False)


@dataclass(frozen=True, kw_only=True)
class RetrainLoopState(LoopSchedule):
    """t3: its schedule."""

    loop: LoopName = field(default=LoopName.RETRAIN, init=False)


LoopState = SwitchLoopState | DriftLoopState | RetrainLoopState
