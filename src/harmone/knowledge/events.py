"""Loop events as typed values: which loop, what it did, why, and how a retraining ended.

The values of the enums are the strings stored in the knowledge base, so events written
by any version stay readable. Encoding to and from the database lives in
``harmone.knowledge.codec``; everything else handles these types only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class LoopName(StrEnum):
    """The MAPE-K loops, in the order they run within one tick (the switch loop first: it
    reads the rows since its last run, the freshest evidence)."""

    SWITCH = "switch"
    DRIFT = "drift"
    RETRAIN = "retrain"


#: Every loop name, in run order; the one list of them.
LOOP_NAMES: tuple[str, ...] = tuple(name.value for name in LoopName)


class Action(StrEnum):
    NONE = "none"
    SWITCH = "switch"
    REUSE = "reuse"
    RETRAIN = "retrain"


class Decision(StrEnum):
    """Why a loop run acted (or did not)."""

    # switch loop
    OK = "ok"
    NO_DATA = "no-data"
    EXPLORE = "explore"
    ENERGY_VIOLATION = "energy-violation"
    SCORE_VIOLATION = "score-violation"
    RECOVERY = "recovery"
    # drift loop
    NOT_READY = "not-ready"
    NO_NEW_DATA = "no-new-data"
    NO_DRIFT = "no-drift"
    REUSE = "reuse"
    ACTIVE_VERSION_FITS = "active-version-fits"
    ACTIVE_VERSION_BETTER = "active-version-better"
    RETRAIN_NO_CLOSE_VERSION = "retrain-no-close-version"
    RETRAIN_NO_OTHER_VERSION = "retrain-no-other-version"
    # periodic retraining
    SCHEDULED = "scheduled"
    NOT_ENOUGH_DATA = "not-enough-data"
    # any loop
    NO_TRAINED_MODEL = "no-trained-model"
    ERROR = "error"


class Outcome(StrEnum):
    """How a retraining a run started ended (None on events that started none)."""

    PROMOTED = "promoted"
    #: The new version was stored, but validation kept the serving version.
    KEPT_SERVING = "kept-serving"
    FAILED = "failed"


@dataclass(frozen=True)
class Retraining:
    """What a finished retraining recorded on its event (stored among ``observed``)."""

    new_version: int
    holdout_r2: float
    #: Energy of fitting and storing, µJ, and the meter's source where it ran.
    train_energy_uj: float
    train_meter: str | None
    n_train_values: int
    promoted: bool
    #: The serving version's R² on the same held-out values, when validation compared them.
    serving_holdout_r2: float | None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Event:
    """One run of a loop: what it saw (``observed``: figures), chose and what acting cost."""

    time_s: float
    loop: LoopName
    action: Action
    model: str | None = None
    version: int | None = None
    energy_uj: float = 0.0
    decision: Decision = Decision.OK
    observed: Mapping[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        # Plain strings are accepted (and checked) so callers may write the stored values.
        object.__setattr__(self, "loop", LoopName(self.loop))
        object.__setattr__(self, "action", Action(self.action))
        object.__setattr__(self, "decision", Decision(self.decision))
        if self.outcome is not None:
            object.__setattr__(self, "outcome", Outcome(self.outcome))

    @property
    def drift_detected(self) -> bool:
        return bool(self.observed.get("drift_detected"))

    @property
    def retraining(self) -> Retraining | None:
        """The retraining this run started, once it finished (None otherwise, or when it failed)."""
        seen = self.observed
        if "new_version" not in seen:
            return None
        serving = seen.get("serving_holdout_r2")
        return Retraining(new_version=int(seen["new_version"]), holdout_r2=float(seen["holdout_r2"]),
                          train_energy_uj=float(seen["train_energy_uj"]), train_meter=seen.get("train_meter"),
                          n_train_values=int(seen["n_train_values"]), promoted=bool(seen["promoted"]),
                          serving_holdout_r2=None if serving is None else float(serving))

    @property
    def error(self) -> str | None:
        """What went wrong: the run raised (``decision`` error) or its retraining failed."""
        error = self.observed.get("error")
        return None if error is None else str(error)

    @property
    def failed(self) -> bool:
        """A retraining this run started failed."""
        return self.outcome is Outcome.FAILED

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (``harmone events --json``)."""
        return {
            "id": self.id, "time": self.time_s, "loop": self.loop.value, "action": self.action.value,
            "model": self.model, "version": self.version, "energy_uj": self.energy_uj,
            "decision": self.decision.value, "outcome": None if self.outcome is None else self.outcome.value,
            "observed": dict(self.observed),
        }


@dataclass(frozen=True)
class EventCounts:
    """Totals over a list of events, for summaries."""

    switches: int = 0
    reuses: int = 0
    retrains: int = 0
    drift_detections: int = 0
    failures: int = 0
    errors: int = 0
    energy_uj: float = 0.0
    #: The part of ``energy_uj`` spent by runs that retrained (fitting and storing included).
    retraining_energy_uj: float = 0.0
    by_loop: Mapping[str, int] = field(default_factory=dict)


def count_events(events: list[Event]) -> EventCounts:
    """Adaptations, failures and energy over ``events``."""
    by_loop: dict[str, int] = {}
    energy_uj = retraining_energy_uj = 0.0
    actions = {action: 0 for action in Action}
    detections = failures = errors = 0
    for event in events:
        by_loop[event.loop.value] = by_loop.get(event.loop.value, 0) + 1
        energy_uj += event.energy_uj
        actions[event.action] += 1
        if event.action is Action.RETRAIN:
            retraining_energy_uj += event.energy_uj
        detections += event.drift_detected
        failures += event.failed
        errors += event.decision is Decision.ERROR
    return EventCounts(switches=actions[Action.SWITCH], reuses=actions[Action.REUSE], retrains=actions[Action.RETRAIN],
                       drift_detections=detections, failures=failures, errors=errors, energy_uj=energy_uj,
                       retraining_energy_uj=retraining_energy_uj, by_loop=by_loop)
