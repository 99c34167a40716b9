"""Loop events as typed values: which loop, what it did, why, and how a retraining ended.

The values of the enums are the strings stored in the knowledge base, so events written
by any version stay readable. Encoding to and from the database lives in
``harmone.knowledge.codec``. ``Event.observed`` keeps the figures of a run as stored (the
JSON that ``harmone events --json`` prints); ``Event.figures``, ``Event.retraining`` and
``Event.error`` read them as typed values.
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
    #: Not a loop: a person acting through the dashboard (approach, config, promotion, runs).
    OPERATOR = "operator"
    #: Not a loop: a running process taking up (or refusing) a changed harmone.toml.
    CONFIG = "config"


#: Event sources that are not loops.
_NOT_LOOPS = (LoopName.OPERATOR, LoopName.CONFIG)
#: Every loop name, in run order; the one list of them.
LOOP_NAMES: tuple[str, ...] = tuple(name.value for name in LoopName if name not in _NOT_LOOPS)
#: Who records events: the loops, the operator, and running processes following harmone.toml.
EVENT_SOURCES: tuple[str, ...] = (*LOOP_NAMES, *(source.value for source in _NOT_LOOPS))


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
    #: Validation kept the serving version: the candidate predicts worse than persistence.
    BELOW_PERSISTENCE = "below-persistence"
    RETRAIN_NO_CLOSE_VERSION = "retrain-no-close-version"
    RETRAIN_NO_OTHER_VERSION = "retrain-no-other-version"
    # periodic retraining
    SCHEDULED = "scheduled"
    NOT_ENOUGH_DATA = "not-enough-data"
    # any loop
    NO_TRAINED_MODEL = "no-trained-model"
    #: A restarted manager recorded (or discarded) a retraining its killed predecessor left.
    RECOVERED = "recovered"
    ERROR = "error"
    #: Not a loop's decision: a person acted from the dashboard (``observed["operator"]`` says what).
    OPERATOR = "operator"
    #: Not a loop's decision: a running process took up a changed harmone.toml
    #: (``observed["changed"]`` names each setting with its old and new value).
    SETTINGS_CHANGED = "settings-changed"


class Outcome(StrEnum):
    """How a retraining a run started ended (None on events that started none)."""

    PROMOTED = "promoted"
    #: The new version was stored, but validation kept the serving version.
    KEPT_SERVING = "kept-serving"
    FAILED = "failed"


def _opt(kind: type, value: Any) -> Any:
    return None if value is None else kind(value)


@dataclass(frozen=True)
class ModelFigures:
    """How one model did over the rows it served in one switch-loop batch."""

    rows: int
    r2: float
    energy_uj: float
    normalised_energy: float
    score: float


@dataclass(frozen=True)
class SwitchFigures:
    """What a switch-loop run saw and chose (the typed view of its ``observed``)."""

    source: str
    target: str | None
    #: ``energy`` or ``score`` when a goal was violated.
    violation: str | None
    #: The serving model's R² and normalised energy over the batch (None without data).
    r2: float | None
    normalised_energy: float | None
    ema: float
    budget: float
    recovery: int
    rows: int
    dropped: int
    first_row_id: int | None
    last_row_id: int
    per_model: Mapping[str, ModelFigures]
    emas: Mapping[str, float]

    @classmethod
    def from_observed(cls, seen: Mapping[str, Any]) -> SwitchFigures:
        return cls(source=str(seen["source"]), target=_opt(str, seen.get("target")),
                   violation=_opt(str, seen.get("violation")), r2=_opt(float, seen.get("r2")),
                   normalised_energy=_opt(float, seen.get("normalised_energy")), ema=float(seen["ema"]),
                   budget=float(seen["budget"]), recovery=int(seen["recovery"]), rows=int(seen["rows"]),
                   dropped=int(seen["dropped"]), first_row_id=_opt(int, seen.get("first_row_id")),
                   last_row_id=int(seen["last_row_id"]),
                   per_model={kind: ModelFigures(**figures) for kind, figures in seen["per_model"].items()},
                   emas={kind: float(v) for kind, v in seen["emas"].items()})


@dataclass(frozen=True)
class DriftFigures:
    """What a drift check saw (the typed view of its ``observed``); None where it did not get that far."""

    #: The detector's score (its own statistic, whichever detector is configured) and the best
    #: stored version's KL to the drift data.
    detector_score: float | None
    version_kl: float | None
    drift_detected: bool
    #: Values the check looked at, and the newest row among them.
    values: int | None
    last_row_id: int | None
    active_version: int | None
    version_kls: Mapping[int, float]
    #: After a detection: the model that served, and why the answering model was chosen.
    serving_model: str | None
    target: str | None
    #: With validation, the reuse candidate's and the serving version's mean squared error.
    candidate_mse: float | None
    serving_mse: float | None

    @classmethod
    def from_observed(cls, seen: Mapping[str, Any]) -> DriftFigures:
        return cls(detector_score=_opt(float, seen.get("detector_score")),
                   version_kl=_opt(float, seen.get("version_kl")),
                   drift_detected=bool(seen.get("drift_detected")), values=_opt(int, seen.get("values")),
                   last_row_id=_opt(int, seen.get("last_row_id")), active_version=_opt(int, seen.get("active_version")),
                   version_kls={int(v): float(kl) for v, kl in seen.get("version_kls", {}).items()},
                   serving_model=_opt(str, seen.get("serving_model")), target=_opt(str, seen.get("target")),
                   candidate_mse=_opt(float, seen.get("candidate_mse")),
                   serving_mse=_opt(float, seen.get("serving_mse")))


@dataclass(frozen=True)
class RetrainFigures:
    """What a periodic-retraining run saw: how many true values there were, and what served."""

    values: int
    active_version: int

    @classmethod
    def from_observed(cls, seen: Mapping[str, Any]) -> RetrainFigures:
        return cls(values=int(seen["values"]), active_version=int(seen["active_version"]))


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
    def figures(self) -> SwitchFigures | DriftFigures | RetrainFigures | None:
        """The typed view of ``observed`` (None for errors, runs without a trained model, operator actions
        and settings taken up)."""
        if self.decision in (Decision.ERROR, Decision.NO_TRAINED_MODEL, Decision.OPERATOR, Decision.SETTINGS_CHANGED):
            return None
        if self.loop is LoopName.SWITCH:
            return SwitchFigures.from_observed(self.observed)
        if self.loop is LoopName.DRIFT:
            return DriftFigures.from_observed(self.observed)
        return RetrainFigures.from_observed(self.observed)

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
    #: Drifts answered by keeping the serving version: it fits the new data best, or
    #: validation found it better than the candidate (reuse-like: nothing retrained).
    keeps: int = 0
    retrains: int = 0
    drift_detections: int = 0
    failures: int = 0
    errors: int = 0
    energy_uj: float = 0.0
    #: The part of ``energy_uj`` spent by runs that retrained (fitting and storing included).
    retraining_energy_uj: float = 0.0
    by_loop: Mapping[str, int] = field(default_factory=dict)


#: Drift-loop decisions that answer a drift with the version that serves.
KEEP_DECISIONS = frozenset({Decision.ACTIVE_VERSION_FITS, Decision.ACTIVE_VERSION_BETTER, Decision.BELOW_PERSISTENCE})


def count_events(events: list[Event]) -> EventCounts:
    """Adaptations, failures and energy over ``events``."""
    by_loop: dict[str, int] = {}
    energy_uj = retraining_energy_uj = 0.0
    actions = {action: 0 for action in Action}
    detections = failures = errors = keeps = 0
    for event in events:
        keeps += event.decision in KEEP_DECISIONS
        by_loop[event.loop.value] = by_loop.get(event.loop.value, 0) + 1
        energy_uj += event.energy_uj
        actions[event.action] += 1
        if event.action is Action.RETRAIN:
            retraining_energy_uj += event.energy_uj
        detections += event.drift_detected
        failures += event.failed
        errors += event.decision is Decision.ERROR
    return EventCounts(switches=actions[Action.SWITCH], reuses=actions[Action.REUSE], retrains=actions[Action.RETRAIN],
                       keeps=keeps, drift_detections=detections, failures=failures, errors=errors, energy_uj=energy_uj,
                       retraining_energy_uj=retraining_energy_uj, by_loop=by_loop)
