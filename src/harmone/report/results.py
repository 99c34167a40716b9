"""The one result type of a run: what an approach did over a stream, validated on creation.

``run_approach`` returns a ``RunResult`` with the totals and counts it read from the
knowledge base (rows and events by id range); a report needs the per-prediction series
as well, which ``with_series`` attaches. A figure that cannot be computed (R² of fewer
than two predictions) stays None and is shown as "n/a", never as a made-up 0.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harmone.errors import HarmonEError
from harmone.knowledge import Event

LOOPS = ("switch", "drift", "retrain")
ACTIONS = ("none", "switch", "reuse", "retrain")
METER_KINDS = ("measured", "estimated")
#: The per-prediction series a report plots, with their types.
SERIES = (("time_s", np.float64), ("true_value", np.float64), ("predicted_value", np.float64),
          ("model", np.str_))

_OPTIONAL = ("r2", "mae", "skill", "baseline", "latency_mean_s", "latency_p95_s")
_SCALARS = ("inference_energy_uj", "adaptation_energy_uj", "retraining_energy_uj", "wall_time_s", "duration_s")
_COUNTS = ("predictions", "switches", "reuses", "retrains", "drift_detections", "retrain_failures", "keeps")


class ReportError(HarmonEError, ValueError):
    """Results that cannot be reported (no predictions, mismatched series, bad values)."""


@dataclass(frozen=True)
class EventMark:
    """One adaptation (or loop run) of an approach, placed on the simulated time axis."""

    time_s: float
    loop: str
    action: str
    model: str | None
    version: int | None
    drift_detected: bool

    def __post_init__(self) -> None:
        if self.loop not in LOOPS:
            raise ReportError(f"event at {self.time_s} s: loop {self.loop!r} is not one of {', '.join(LOOPS)}")
        if self.action not in ACTIONS:
            raise ReportError(f"event at {self.time_s} s: action {self.action!r} is not one of {', '.join(ACTIONS)}")

    @classmethod
    def of(cls, event: Event) -> EventMark:
        return cls(time_s=event.time_s, loop=event.loop, action=event.action, model=event.model,
                   version=event.version, drift_detected=bool(event.observed.get("drift_detected")))


def _empty(dtype: Any) -> np.ndarray:
    array = np.empty(0, dtype=dtype)
    array.flags.writeable = False
    return array


# eq=False: the per-prediction arrays make field-wise equality ambiguous (and unhashable).
@dataclass(frozen=True, eq=False)
class RunResult:
    """What one run did; energies in µJ, the rows it wrote by id range, events in order."""

    approach: str
    predictions: int
    r2: float | None
    mae: float | None
    #: Energy charged to predictions, and spent by the loops (checks, switches, reuse, retraining).
    inference_energy_uj: float
    adaptation_energy_uj: float
    latency_mean_s: float | None
    latency_p95_s: float | None
    switches: int
    reuses: int
    retrains: int
    drift_detections: int
    meter_kind: str
    meter_source: str
    wall_time_s: float
    #: The part of adaptation spent retraining (the rest: loop runs, switches, reuse).
    retraining_energy_uj: float = 0.0
    retrain_failures: int = 0
    #: Drifts answered by keeping the serving version (reuse-like: nothing retrained).
    keeps: int = 0
    #: Skill over persistence: 1 - squared error / persistence's on the same predictions
    #: (above 0 beats "repeat the last value"); None until known.
    skill: float | None = None
    #: The naive baseline's metric on the same predictions (persistence's R², the no-change
    #: classifier's accuracy): what ``skill`` is measured against; None until known.
    baseline: float | None = None
    simulated: bool = True
    seed: int = 0
    #: The task of the stream (``harmone.tasks``): ``r2`` holds its metric (R², accuracy), ``mae``
    #: its mean error (absolute error, the share wrong), ``skill`` its skill over the naive
    #: baseline (over persistence, Kappa-temporal over the no-change classifier).
    task: str = "forecasting"
    #: Prediction-log rows of this run: ids first_row_id..last_row_id (0, 0 when none).
    first_row_id: int = 0
    last_row_id: int = 0
    #: Clock seconds the run covered (simulated or scaled).
    duration_s: float = 0.0
    #: Every event the managing system recorded during the run, in order.
    events: tuple[Event, ...] = field(default=(), repr=False)
    #: Per-prediction series (empty until ``with_series``), read-only copies.
    time_s: np.ndarray = field(default_factory=lambda: _empty(np.float64), repr=False)
    true_value: np.ndarray = field(default_factory=lambda: _empty(np.float64), repr=False)
    predicted_value: np.ndarray = field(default_factory=lambda: _empty(np.float64), repr=False)
    model: np.ndarray = field(default_factory=lambda: _empty(np.str_), repr=False)

    def __post_init__(self) -> None:
        where = f"approach {self.approach!r}"
        for name in _COUNTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ReportError(f"{where}: {name} must be a count >= 0, got {value!r}")
        for name in _SCALARS + _OPTIONAL:
            value = getattr(self, name)
            if value is None and name in _OPTIONAL:
                continue
            if not isinstance(value, (int, float, np.number)) or isinstance(value, bool) or not math.isfinite(value):
                raise ReportError(f"{where}: {name} must be a finite number, got {value!r}")
        if not (0.0 <= self.retraining_energy_uj <= self.adaptation_energy_uj * (1 + 1e-9)):
            raise ReportError(f"{where}: retraining_energy_uj must be between 0 and adaptation_energy_uj "
                              f"({self.adaptation_energy_uj!r}), got {self.retraining_energy_uj!r}")
        if self.meter_kind not in METER_KINDS:
            raise ReportError(f"{where}: meter_kind {self.meter_kind!r} is not one of {', '.join(METER_KINDS)}")
        empty = []
        for name, dtype in SERIES:
            array = np.array(getattr(self, name), dtype=dtype).reshape(-1)
            if array.size == 0:
                empty.append(name)
            elif array.size != self.predictions:
                raise ReportError(f"{where}: {name} has {array.size} values but predictions = {self.predictions}")
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        if 0 < len(empty) < len(SERIES) and self.predictions:
            raise ReportError(f"{where}: per-prediction series incomplete ({', '.join(empty)} empty)")
        if self.has_series and self.predictions > 1 and np.any(np.diff(self.time_s) < 0):
            raise ReportError(f"{where}: time_s must not decrease")
        object.__setattr__(self, "events", tuple(self.events))

    # -- derived figures -------------------------------------------------------------------

    @property
    def has_series(self) -> bool:
        return self.time_s.size == self.predictions > 0

    @property
    def marks(self) -> tuple[EventMark, ...]:
        """The events as points on the time axis."""
        return tuple(EventMark.of(event) for event in self.events)

    @property
    def energy_uj(self) -> float:
        return self.inference_energy_uj + self.adaptation_energy_uj

    @property
    def first_event_id(self) -> int | None:
        return self.events[0].id if self.events else None

    @property
    def last_event_id(self) -> int | None:
        return self.events[-1].id if self.events else None

    def _per_prediction_mj(self, energy_uj: float) -> float:
        if self.predictions == 0:
            raise ReportError(f"approach {self.approach!r} made zero predictions: "
                              "energy per prediction is undefined")
        return energy_uj / self.predictions / 1000.0

    @property
    def energy_mj_per_prediction(self) -> float:
        """Inference plus adaptation, mJ: adapting is paid for by the predictions it serves."""
        return self._per_prediction_mj(self.energy_uj)

    @property
    def inference_energy_mj_per_prediction(self) -> float:
        return self._per_prediction_mj(self.inference_energy_uj)

    @property
    def adaptation_energy_mj_per_prediction(self) -> float:
        return self._per_prediction_mj(self.adaptation_energy_uj)

    @property
    def retraining_energy_mj_per_prediction(self) -> float:
        return self._per_prediction_mj(self.retraining_energy_uj)

    @property
    def latency_ms_mean(self) -> float | None:
        return None if self.latency_mean_s is None else self.latency_mean_s * 1e3

    @property
    def latency_ms_p95(self) -> float | None:
        return None if self.latency_p95_s is None else self.latency_p95_s * 1e3

    # -- conversions -----------------------------------------------------------------------

    def with_series(self, *, time_s: Any, true_value: Any, predicted_value: Any, model: Any) -> RunResult:
        """This result with its per-prediction series (what the plots need)."""
        return dataclasses.replace(self, time_s=time_s, true_value=true_value, predicted_value=predicted_value,
                                   model=model)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (events by id range, not inline; no series)."""
        return {
            "approach": self.approach, "task": self.task, "simulated": self.simulated, "seed": self.seed,
            "predictions": self.predictions, "r2": self.r2, "mae": self.mae, "skill": self.skill,
            "baseline": self.baseline,
            "inference_energy_uj": self.inference_energy_uj, "adaptation_energy_uj": self.adaptation_energy_uj,
            "retraining_energy_uj": self.retraining_energy_uj,
            "energy_mj_per_prediction": self.energy_mj_per_prediction if self.predictions else None,
            "latency_mean_s": self.latency_mean_s, "latency_p95_s": self.latency_p95_s,
            "switches": self.switches, "reuses": self.reuses, "retrains": self.retrains,
            "drift_detections": self.drift_detections, "retrain_failures": self.retrain_failures,
            "keeps": self.keeps, "meter_kind": self.meter_kind, "meter_source": self.meter_source,
            "first_row_id": self.first_row_id, "last_row_id": self.last_row_id,
            "first_event_id": self.first_event_id, "last_event_id": self.last_event_id,
            "events": len(self.events), "duration_s": self.duration_s, "wall_time_s": self.wall_time_s,
        }


def checked(results: Sequence[RunResult]) -> list[RunResult]:
    """Results a report can use: some, distinct approaches, each with predictions."""
    results = list(results)
    if not results:
        raise ReportError("no approach results to report")
    seen: set[str] = set()
    for result in results:
        if result.approach in seen:
            raise ReportError(f"approach {result.approach!r} appears twice in the results")
        seen.add(result.approach)
        if result.predictions == 0:
            raise ReportError(f"approach {result.approach!r} made zero predictions: nothing to report")
    return results


def with_series(results: Sequence[RunResult]) -> list[RunResult]:
    """``checked``, and each result carries its per-prediction series (for the plots)."""
    results = checked(results)
    for result in results:
        if not result.has_series:
            raise ReportError(f"approach {result.approach!r}: per-prediction series not loaded (with_series)")
    return results


def by_name(results: Sequence[RunResult]) -> dict[str, RunResult]:
    return {r.approach: r for r in results}
