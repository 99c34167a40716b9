"""The drift loop (t2) as pure decisions over typed snapshots.

The loop feeds its detector (``harmone.mape.detection``) and gathers, before each
decision, one frozen snapshot: ``DriftSnapshot`` (detector reading and newest values)
for detection, ``TargetSnapshot`` (calibrated energies, switch EMAs, trained kinds) for
which model answers a drift, ``ReuseSnapshot`` (versions' training samples and, with
validation, evaluations) for reuse or retrain. Each decision here only reads its snapshot
and the config; ``plan_drift`` returns data that the loop executes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

import numpy as np

from harmone.config import Config
from harmone.detectors.change_point import locate_change
from harmone.knowledge.events import Action, Decision
from harmone.mape.detection import finite
from harmone.mape.evaluation import Evaluation, promote
from harmone.mape.snapshot import frozen_array

TargetReason = Literal["serving", "not-calibrated", "serving-within-energy-goal", "no-model-within-energy-goal",
                       "best-model-within-energy-goal"]


@dataclass(frozen=True, eq=False)
class DriftSnapshot:
    """The detector's reading and the newest true values, for one drift-loop run."""

    #: The last 2 x drift.window true values (fewer when the stream is young), oldest first.
    recent: np.ndarray
    #: The detector has seen enough values to judge.
    ready: bool
    #: Its score (its own statistic: for the published detector the windowed KL), None until ready.
    score: float | None
    detected: bool
    current_model: str
    #: Version of ``current_model`` being served.
    active_version: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "recent", frozen_array(self.recent, np.float64, "recent"))


@dataclass(frozen=True, eq=False)
class DriftObservation:
    #: True once the detector has seen enough values to judge.
    ready: bool
    #: The detector's score; None until ready.
    score: float | None
    detected: bool
    #: The last window of true values: the data to compare versions with or retrain on.
    drift_data: np.ndarray
    n_values: int
    current_model: str
    active_version: int
    #: With ``drift.split_regime``: how many of the newest values the located new regime holds.
    change_at: int | None = None


def monitor_drift(snapshot: DriftSnapshot, config: Config) -> DriftObservation:
    """The detector's verdict, and the last ``drift.window`` values as the drift data."""
    values = finite(snapshot.recent)
    # A detector that restarts after a detection may be warming up again by the end of the
    # values fed since the last check (not ready): the detection it made still counts.
    ready = snapshot.ready or snapshot.detected
    drift_data = values[-config.drift.window:].copy() if ready else values[:0].copy()
    drift_data.setflags(write=False)
    return DriftObservation(ready=ready, score=snapshot.score if snapshot.ready else None,
                            detected=snapshot.detected,
                            drift_data=drift_data, n_values=int(values.size),
                            current_model=snapshot.current_model, active_version=snapshot.active_version)


def analyse_drift(observation: DriftObservation, config: Config) -> bool:
    """Drift when the detector says so (each detector compares its score with its own threshold)."""
    return observation.detected


def new_regime(observation: DriftObservation, config: Config) -> DriftObservation:
    """The observation with only the drift data after its located change point (``drift.split_regime``).

    What a drift is answered with (a stored version compared, a new one trained and its
    sample stored) should describe one regime: the new one. The change point is the split
    of the drift window that best separates two samples (``detectors.change_point``); each
    side keeps at least a quarter of the window, so the retraining still has data. When no
    change is located inside the window (it happened before), the whole window stays.
    """
    if not config.drift.split_regime or not observation.drift_data.size:
        return observation
    data = observation.drift_data
    split = locate_change(data, max(config.drift.window // 4, config.stream.input_length + 2))
    if split is None:
        return observation
    after = data[split:].copy()
    after.setflags(write=False)
    return replace(observation, drift_data=after, change_at=int(data.size - split))


# -- which model answers a drift -------------------------------------------------------------

@dataclass(frozen=True)
class TargetSnapshot:
    """What choosing the model that answers a drift looks at."""

    serving: str
    trained: tuple[str, ...]
    #: Calibrated normalised energy per prediction by kind; None without a calibration.
    normalised_energy: Mapping[str, float] | None
    #: The switch loop's score EMA by kind (empty before its first run).
    emas: Mapping[str, float]
    #: Active version of each trained kind.
    active_versions: Mapping[str, int]
    #: Estimated CPU seconds of one retraining by kind (the last fit's, scaled by
    #: ``training.warm_share``); may be empty.
    retrain_cost_s: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "retrain_cost_s", MappingProxyType(dict(self.retrain_cost_s)))
        object.__setattr__(self, "trained", tuple(sorted(self.trained)))
        if self.normalised_energy is not None:
            object.__setattr__(self, "normalised_energy", MappingProxyType(dict(self.normalised_energy)))
        object.__setattr__(self, "emas", MappingProxyType(dict(self.emas)))
        object.__setattr__(self, "active_versions", MappingProxyType(dict(self.active_versions)))


def drift_target(snapshot: TargetSnapshot, config: Config) -> tuple[str, TargetReason]:
    """The model kind a detected drift is answered with, and why.

    ``drift.target = "serving"`` (published): the serving kind. ``"frugal"``: the serving
    kind when its normalised energy per prediction is within ``switch.energy_goal``; else
    the kind within the goal that the switch loop scores best (its EMA), the one it falls
    back to when the budget runs out. Retraining a model that the energy budget keeps
    switching away from can cost more than all the inference of a cheap one (an LSTM
    retraining ~30 J against ~6 J for a cheap model's hour), so frugal adapts the fallback.
    Without a calibration to say what each kind costs, the serving kind. A kind without an
    active version cannot answer: then the serving kind too. Between kinds equal in score
    and in energy per prediction, the one whose retraining is estimated cheaper.
    """
    serving, energy = snapshot.serving, snapshot.normalised_energy
    if config.drift.target == "serving":
        return serving, "serving"
    if energy is None or serving not in energy:
        return serving, "not-calibrated"
    goal = config.switch.energy_goal
    if energy[serving] <= goal:
        return serving, "serving-within-energy-goal"
    frugal = [kind for kind in snapshot.trained if kind != serving and kind in energy and energy[kind] <= goal]
    if not frugal:
        return serving, "no-model-within-energy-goal"
    # Best EMA; on a tie the cheaper kind to serve, then to retrain, then the name (sorted above).
    costs = snapshot.retrain_cost_s
    best = max(frugal, key=lambda kind: (snapshot.emas.get(kind, config.initial_ema(kind)), -energy[kind],
                                         -costs.get(kind, 0.0)))
    if best not in snapshot.active_versions:
        return serving, "best-model-within-energy-goal"
    return best, "best-model-within-energy-goal"


# -- reuse or retrain ------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ReuseSnapshot:
    """What deciding between reuse and retraining looks at, for the model that answers."""

    observation: DriftObservation
    #: The closest stored version and its KL to the drift data (``reuse.choose_version``).
    choice: tuple[int, float] | None
    #: KL per comparable version (of ``kind``'s versions, or ``"kind:version"`` with reuse_scope all).
    divergences: Mapping[int | str, float]
    #: With ``drift.validate``, when the closest version is not the serving one: the
    #: candidate's and the serving version's evaluation on the drift data.
    candidate: Evaluation | None = None
    serving: Evaluation | None = None
    #: With ``drift.reuse_scope = "all"``: the kind of the chosen version, and what serves now.
    kind: str | None = None
    serving_model: str | None = None
    serving_version: int | None = None
    #: With ``drift.beat_persistence``: persistence on the same held-out windows.
    persistence: Evaluation | None = None


@dataclass(frozen=True, eq=False)
class DriftPlan:
    """What the drift loop should do.

    ``drift_detected`` is true whenever the loop acted on drift, including the decision to
    keep the active version because it fits the new data best; the loop waits
    ``drift.cooldown_s`` after every such plan.
    """

    action: Action
    reason: Decision
    drift_detected: bool
    #: Version to make active ("reuse") or that already fits ("active-version-fits").
    version: int | None
    #: The detector's score, and the KL of the best stored version to the drift data.
    detector_score: float | None
    version_kl: float | None
    #: Data to retrain on ("retrain"), else None.
    training_data: np.ndarray | None
    #: The kind of ``version`` when it is not the answering model's (reuse across kinds).
    kind: str | None = None


def plan_drift(snapshot: ReuseSnapshot, drifted: bool, config: Config) -> DriftPlan:
    """Reuse the closest stored version when its KL is below reuse_threshold, else retrain.

    The closest version being the one that serves is an answer too: keep it
    (``active-version-fits``, counted as ``keeps``). Evaluations in the snapshot
    (``drift.validate``) veto a reuse that would predict worse than what serves now, or
    (``drift.beat_persistence``) worse than persistence (``evaluation.promote``): the
    serving version stays, and nothing is spent.
    """
    observation, choice = snapshot.observation, snapshot.choice

    def make(action: Action, reason: Decision, *, detected: bool = True, version: int | None = None,
             training: bool = False, kind: str | None = None) -> DriftPlan:
        return DriftPlan(action=action, reason=reason, drift_detected=detected, version=version,
                         detector_score=observation.score, version_kl=choice[1] if choice else None,
                         training_data=observation.drift_data if training else None, kind=kind)

    if not observation.ready:
        return make(Action.NONE, Decision.NOT_READY, detected=False)
    if not drifted:
        return make(Action.NONE, Decision.NO_DRIFT, detected=False)
    if choice is None:
        return make(Action.RETRAIN, Decision.RETRAIN_NO_OTHER_VERSION, training=True)
    version, kl = choice
    if kl >= config.drift.reuse_threshold:
        return make(Action.RETRAIN, Decision.RETRAIN_NO_CLOSE_VERSION, training=True)
    if snapshot.kind is None:
        serving = (observation.current_model, observation.active_version)
        kind = None
        fits = version == observation.active_version
    else:
        assert snapshot.serving_model is not None and snapshot.serving_version is not None
        serving = (snapshot.serving_model, snapshot.serving_version)
        kind = snapshot.kind
        fits = (kind, version) == serving
    if fits:
        return make(Action.NONE, Decision.ACTIVE_VERSION_FITS, version=version, kind=kind)
    kept = None if kind is None else serving[0]
    candidate = snapshot.candidate
    if candidate is not None and snapshot.serving is not None and not promote(candidate, snapshot.serving):
        return make(Action.NONE, Decision.ACTIVE_VERSION_BETTER, version=serving[1], kind=kept)
    if candidate is not None and snapshot.persistence is not None and not promote(candidate, snapshot.persistence):
        return make(Action.NONE, Decision.BELOW_PERSISTENCE, version=serving[1], kind=kept)
    return make(Action.REUSE, Decision.REUSE, version=version, kind=kind)
