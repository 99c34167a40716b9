"""The drift loop (t2) and periodic retraining (t3) as pure decisions.

KL directions (docs/algorithm.md says why): the drift check is KL(window before || last
window), as in the original, so drift fires once the last window is mostly the new regime;
a version is judged by KL(drift data || its training snapshot), large when today's values
land where the version's training data had little mass. Natural logarithm: nats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from harmone.config import Config
from harmone.mape.snapshot import DriftSnapshot

DriftAction = Literal["none", "reuse", "retrain"]
TargetReason = Literal["serving", "not-calibrated", "serving-within-energy-goal", "no-model-within-energy-goal",
                       "best-model-within-energy-goal"]
DriftReason = Literal["not-ready", "no-drift", "reuse", "active-version-fits", "active-version-better",
                      "retrain-no-close-version", "retrain-no-other-version"]
RetrainAction = Literal["none", "retrain"]


def _finite(values: np.ndarray | list[float]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(array)
    return array if finite.all() else array[finite]


def _split_divergence(values: np.ndarray, split: int, bins: int, epsilon: float) -> float:
    """KL(values[:split] || values[split:]) over shared equal-width bins of all the values.

    One pass for both samples: bin indices by arithmetic (what np.histogram computes for
    uniform edges), the second sample's shifted by ``bins``, one bincount. The drift check
    runs every few seconds, so this is most of its energy.
    """
    lo = float(values.min())
    hi = float(values.max())
    if hi <= lo:
        return 0.0  # both samples are one and the same constant
    index = np.minimum(((values - lo) / ((hi - lo) / bins)).astype(np.intp), bins - 1)
    index[split:] += bins
    counts = np.bincount(index, minlength=2 * bins).reshape(2, bins)
    probabilities = counts / np.array([[split], [values.size - split]], dtype=np.float64) + epsilon
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    p, q = probabilities
    return max(0.0, float(np.sum(p * np.log(p / q))))


def kl_divergence(p_values: np.ndarray, q_values: np.ndarray, *, bins: int, epsilon: float) -> float:
    """KL(P || Q) of the two samples' histograms over one shared set of bin edges.

    The edges split the range of both samples together into ``bins`` equal bins, so bin i
    means the same values in P and Q (the original binned each sample over its own range,
    so a shifted window looked identical to the old one). Each histogram becomes
    probabilities, gets ``epsilon`` added to every bin (no empty bin, no log 0) and is
    renormalised to sum to one. Non-finite values are ignored.
    """
    p, q = _finite(p_values), _finite(q_values)
    if p.size == 0 or q.size == 0:
        raise ValueError(f"both samples need finite values (got {p.size} and {q.size})")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    return _split_divergence(np.concatenate([p, q]), p.size, bins, epsilon)


@dataclass(frozen=True, eq=False)
class DriftObservation:
    #: True once 2 x drift.window finite true values exist.
    ready: bool
    #: KL(window before || last window); None until ready.
    kl: float | None
    #: The last window of true values: the data to compare versions with or retrain on.
    drift_data: np.ndarray
    n_values: int
    current_model: str
    active_version: int


def monitor_drift(snapshot: DriftSnapshot, config: Config) -> DriftObservation:
    """Compare the last ``window`` true values with the ``window`` before them."""
    window = config.drift.window
    values = _finite(snapshot.recent)
    ready = values.size >= 2 * window
    kl = None
    drift_data = values[-window:] if ready else values[:0]
    if ready:
        # KL(before || last), as the original: it crosses the threshold only once most of the
        # last window belongs to the new regime, so the drift data describe the new regime.
        kl = _split_divergence(values[-2 * window:], window, config.drift.bins, config.drift.epsilon)
    drift_data = drift_data.copy()
    drift_data.setflags(write=False)
    return DriftObservation(ready=ready, kl=kl, drift_data=drift_data, n_values=int(values.size),
                            current_model=snapshot.current_model, active_version=snapshot.active_version)


def analyse_drift(observation: DriftObservation, config: Config) -> bool:
    """Drift when the two windows' KL exceeds the threshold."""
    return observation.kl is not None and observation.kl > config.drift.threshold


def version_divergences(drift_data: np.ndarray, snapshots: Mapping[int, np.ndarray],
                        config: Config) -> dict[int, float]:
    """KL(drift data || version snapshot) per version, clipped to [0, kl_clip].

    A version whose snapshot holds no finite value cannot be compared and is left out.
    """
    drift = config.drift
    divergences: dict[int, float] = {}
    for version, snapshot in snapshots.items():
        if _finite(snapshot).size == 0:
            continue
        kl = kl_divergence(drift_data, snapshot, bins=drift.bins, epsilon=drift.epsilon)
        divergences[version] = min(drift.kl_clip, kl)
    return divergences


def choose_version(drift_data: np.ndarray, snapshots: Mapping[int, np.ndarray],
                   config: Config) -> tuple[int, float] | None:
    """The stored version whose training data looks most like the drift data.

    ``snapshots`` maps every stored version of the current model to its training-data
    snapshot. With one version or none there is nothing to choose from: None. Equal KLs
    (for instance several clipped at kl_clip) go to the newest version.
    """
    if len(snapshots) <= 1:
        return None
    divergences = version_divergences(drift_data, snapshots, config)
    if not divergences:
        return None
    version = min(divergences, key=lambda v: (divergences[v], -v))
    return version, divergences[version]


def drift_target(serving: str, trained: Sequence[str], normalised_energy: Mapping[str, float] | None,
                 emas: Mapping[str, float], config: Config) -> tuple[str, TargetReason]:
    """The model kind a detected drift is answered with, and why.

    ``drift.target = "serving"`` (published): the serving kind. ``"frugal"``: the serving
    kind when its normalised energy per prediction is within ``switch.energy_goal``; else
    the kind within the goal that the switch loop scores best (its EMA), the one it falls
    back to when the budget runs out. Retraining a model that the energy budget keeps
    switching away from can cost more than all the inference of a cheap one (an LSTM
    retraining ~30 J against ~6 J for a cheap model's hour), so frugal adapts the fallback.
    Without a calibration to say what each kind costs, the serving kind.
    """
    if config.drift.target == "serving":
        return serving, "serving"
    if normalised_energy is None or serving not in normalised_energy:
        return serving, "not-calibrated"
    goal = config.switch.energy_goal
    if normalised_energy[serving] <= goal:
        return serving, "serving-within-energy-goal"
    frugal = [kind for kind in sorted(trained)
              if kind != serving and kind in normalised_energy and normalised_energy[kind] <= goal]
    if not frugal:
        return serving, "no-model-within-energy-goal"
    # Best EMA; on a tie the cheaper kind, then the name (sorted above).
    best = max(frugal, key=lambda kind: (emas.get(kind, config.initial_ema(kind)), -normalised_energy[kind]))
    return best, "best-model-within-energy-goal"


@dataclass(frozen=True, eq=False)
class DriftPlan:
    """What the drift loop should do.

    ``drift_detected`` is true whenever the loop acted on drift, including the decision to
    keep the active version because it fits the new data best; the loop waits
    ``drift.cooldown_s`` after every such plan.
    """

    action: DriftAction
    reason: DriftReason
    drift_detected: bool
    #: Version to make active ("reuse") or that already fits ("active-version-fits").
    version: int | None
    #: KL between the two windows, and of the best version to the drift data.
    window_kl: float | None
    version_kl: float | None
    #: Data to retrain on ("retrain"), else None.
    training_data: np.ndarray | None


def plan_drift(observation: DriftObservation, drifted: bool, choice: tuple[int, float] | None,
               config: Config, *, reuse_errors: tuple[float, float] | None = None) -> DriftPlan:
    """Reuse the closest stored version when its KL is below reuse_threshold, else retrain.

    ``reuse_errors`` (the candidate's and the serving version's mean squared error on the
    newest data, given when ``drift.validate`` is on) vetoes a reuse that would predict
    worse than what serves now: the serving version stays, and nothing is spent.
    """
    def make(action: DriftAction, reason: DriftReason, *, detected: bool = True,
             version: int | None = None, training: bool = False) -> DriftPlan:
        return DriftPlan(action=action, reason=reason, drift_detected=detected, version=version,
                         window_kl=observation.kl, version_kl=choice[1] if choice else None,
                         training_data=observation.drift_data if training else None)

    if not observation.ready:
        return make("none", "not-ready", detected=False)
    if not drifted:
        return make("none", "no-drift", detected=False)
    if choice is None:
        return make("retrain", "retrain-no-other-version", training=True)
    version, kl = choice
    if kl >= config.drift.reuse_threshold:
        return make("retrain", "retrain-no-close-version", training=True)
    if version == observation.active_version:
        return make("none", "active-version-fits", version=version)
    if reuse_errors is not None and not better_or_equal(*reuse_errors):
        return make("none", "active-version-better", version=observation.active_version)
    return make("reuse", "reuse", version=version)


def better_or_equal(candidate_error: float, serving_error: float) -> bool:
    """The promotion test of validated adaptation: no worse on the newest data."""
    return candidate_error <= serving_error


@dataclass(frozen=True, eq=False)
class RetrainPlan:
    action: RetrainAction
    #: "scheduled" when retraining, "not-enough-data" otherwise.
    reason: Literal["scheduled", "not-enough-data"]
    #: The last retrain.window finite true values ("retrain"), else None.
    training_data: np.ndarray | None
    n_values: int


def plan_retrain(recent_true: np.ndarray, config: Config) -> RetrainPlan:
    """Retrain on the last ``retrain.window`` true values; wait until that many exist.

    Anything shorter than the full window would train on less data than the configuration
    promises (and, early in a stream, on little more than the first training saw).
    """
    window = config.retrain.window
    values = _finite(recent_true)
    if values.size < window:
        return RetrainPlan(action="none", reason="not-enough-data", training_data=None, n_values=int(values.size))
    training = values[-window:].copy()
    training.setflags(write=False)
    return RetrainPlan(action="retrain", reason="scheduled", training_data=training, n_values=int(values.size))
