"""The drift loop's rules (KL on shared bins, version choice, reuse or retrain) and retraining.

Every decision is a pure function over a hand-built snapshot: nothing here touches disk.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from harmone.config import Config
from harmone.errors import DataError, HarmonEError
from harmone.mape.detection import kl_divergence, make_detector
from harmone.mape.drift import (
    DriftObservation,
    DriftPlan,
    DriftSnapshot,
    ReuseSnapshot,
    TargetReason,
    TargetSnapshot,
    analyse_drift,
    drift_target,
    monitor_drift,
    plan_drift,
)
from harmone.mape.evaluation import Evaluation, promote
from harmone.mape.periodic import plan_retrain
from harmone.mape.reuse import choose_version

WINDOW = 200


def make_config(**drift: object) -> Config:
    base = Config()
    return base.replace(drift=dataclasses.replace(base.drift, window=WINDOW, **drift),
                        retrain=dataclasses.replace(base.retrain, training_values=300))


def normal(mean: float, n: int = WINDOW, seed: int = 0, sd: float = 10.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, sd, n)


def kl(p: np.ndarray, q: np.ndarray) -> float:
    return kl_divergence(p, q, bins=50, epsilon=1e-10)


def kl_per_window_edges(p: np.ndarray, q: np.ndarray) -> float:
    """The original's comparison: each sample binned over its own range."""
    p_hist = np.histogram(p, bins=50)[0] / len(p) + 1e-10
    q_hist = np.histogram(q, bins=50)[0] / len(q) + 1e-10
    p_hist, q_hist = p_hist / p_hist.sum(), q_hist / q_hist.sum()
    return float(np.sum(p_hist * np.log(p_hist / q_hist)))


# --- KL ------------------------------------------------------------------------------------


def test_identical_samples_have_zero_divergence() -> None:
    sample = normal(300, 1000)
    assert kl(sample, sample) == pytest.approx(0.0, abs=1e-12)


def test_samples_from_one_distribution_diverge_little() -> None:
    assert kl(normal(300, 5000, seed=1), normal(300, 5000, seed=2)) < 0.05


def test_disjoint_supports_diverge_strongly() -> None:
    assert kl(normal(0, 1000, sd=1.0), normal(100, 1000, sd=1.0)) > 15.0


def test_shifted_sample_is_drift_with_shared_bins_but_not_with_per_window_edges() -> None:
    before = normal(300, 1200, seed=3)
    after = before + 80.0  # same shape, moved by 8 standard deviations
    assert kl_per_window_edges(after, before) == pytest.approx(0.0, abs=1e-12)
    assert kl(after, before) > 5.0


def test_divergence_is_finite_and_non_negative_with_empty_bins() -> None:
    value = kl(np.array([1.0, 1.0, 1.0]), np.array([1.0, 5.0, 9.0]))
    assert np.isfinite(value) and value > 0.0


def test_divergence_ignores_non_finite_values_and_rejects_empty_samples() -> None:
    sample = normal(300, 500)
    assert kl(np.append(sample, [np.nan, np.inf]), sample) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(HarmonEError, match="finite"):
        kl(np.array([np.nan]), sample)


# --- Monitor and analyse -------------------------------------------------------------------


def snapshot(values: np.ndarray, active_version: int = 1, config: Config | None = None) -> DriftSnapshot:
    """What the loop gathers: the detector fed ``values``, and the values themselves."""
    detector = make_detector(config or make_config())
    for value in values:
        detector.update(float(value))
    return DriftSnapshot(recent=values, ready=detector.ready, score=detector.score, detected=detector.drift_detected,
                         current_model="lstm", active_version=active_version)


def plan_drift_on(observation: DriftObservation, drifted: bool, choice: tuple[int, float] | None, config: Config,
                  *, candidate: Evaluation | None = None, serving: Evaluation | None = None) -> DriftPlan:
    return plan_drift(ReuseSnapshot(observation=observation, choice=choice, divergences={}, candidate=candidate,
                                    serving=serving), drifted, config)


def test_monitor_waits_for_two_full_windows() -> None:
    config = make_config()
    obs = monitor_drift(snapshot(normal(300, 2 * WINDOW - 1)), config)
    assert not obs.ready and obs.score is None and obs.drift_data.size == 0
    assert not analyse_drift(obs, config)


def test_monitor_compares_the_last_window_with_the_one_before() -> None:
    config = make_config()
    older, newer = normal(300, WINDOW, seed=4), normal(420, WINDOW, seed=5)
    values = np.concatenate([normal(0, 50, seed=6), older, newer])  # extra old values are ignored
    obs = monitor_drift(snapshot(values), config)
    assert obs.ready
    np.testing.assert_array_equal(obs.drift_data, newer)
    assert obs.score == pytest.approx(kl(older, newer))
    assert analyse_drift(obs, config)


def test_drift_threshold_decides() -> None:
    config = make_config()
    steady = monitor_drift(snapshot(normal(300, 2 * WINDOW, seed=7)), config)
    assert steady.score is not None and steady.score < 0.75 and not analyse_drift(steady, config)
    lower = make_config(threshold=steady.score / 2)
    assert analyse_drift(monitor_drift(snapshot(normal(300, 2 * WINDOW, seed=7), config=lower), lower), lower)


# --- Version choice ------------------------------------------------------------------------


def test_choose_version_picks_lowest_divergence() -> None:
    config = make_config()
    drift_data = normal(500, seed=8)
    snapshots = {1: normal(300, seed=9), 2: normal(505, seed=10), 3: normal(700, seed=11)}
    choice = choose_version(drift_data, snapshots, config)
    assert choice is not None and choice[0] == 2
    assert choice[1] == pytest.approx(kl(drift_data, snapshots[2]))


def test_divergences_are_clipped_and_ties_go_to_the_newest_version() -> None:
    config = make_config(kl_clip=10.0)
    drift_data = normal(0, sd=1.0)
    far = {1: normal(1000, sd=1.0, seed=1), 4: normal(-1000, sd=1.0, seed=2), 2: normal(2000, sd=1.0, seed=3)}
    assert all(kl(drift_data, s) > 10.0 for s in far.values())
    assert choose_version(drift_data, far, config) == (4, 10.0)


def test_a_single_version_gives_no_choice() -> None:
    config = make_config()
    assert choose_version(normal(300), {1: normal(300)}, config) is None
    assert choose_version(normal(300), {}, config) is None


# --- Plan ----------------------------------------------------------------------------------


def drifted_observation(active_version: int = 1) -> DriftObservation:
    values = np.concatenate([normal(300, seed=12), normal(500, seed=13)])
    return monitor_drift(snapshot(values, active_version), make_config())


def test_close_version_is_reused() -> None:
    config = make_config()
    obs = drifted_observation(active_version=3)
    plan = plan_drift_on(obs, analyse_drift(obs, config), (2, 0.3), config)
    assert (plan.action, plan.version, plan.reason, plan.drift_detected) == ("reuse", 2, "reuse", True)
    assert plan.version_kl == 0.3 and plan.detector_score == obs.score and plan.training_data is None


def test_no_close_version_means_retrain_on_the_drift_data() -> None:
    config = make_config()
    obs = drifted_observation()
    plan = plan_drift_on(obs, True, (2, 0.75), config)  # not strictly below the threshold
    assert (plan.action, plan.reason) == ("retrain", "retrain-no-close-version")
    assert plan.training_data is not None
    np.testing.assert_array_equal(plan.training_data, obs.drift_data)
    only_one = plan_drift_on(obs, True, None, config)
    assert (only_one.action, only_one.reason) == ("retrain", "retrain-no-other-version")


def test_reuse_threshold_is_configurable() -> None:
    obs = drifted_observation(active_version=5)
    assert plan_drift_on(obs, True, (2, 1.5), make_config(reuse_threshold=2.0)).action == "reuse"
    assert plan_drift_on(obs, True, (2, 1.5), make_config(reuse_threshold=1.0)).action == "retrain"


def test_active_version_that_fits_is_kept_but_counts_as_drift() -> None:
    config = make_config()
    obs = drifted_observation(active_version=2)
    plan = plan_drift_on(obs, True, (2, 0.1), config)
    assert (plan.action, plan.reason, plan.version, plan.drift_detected) == ("none", "active-version-fits", 2, True)


def test_without_drift_nothing_happens() -> None:
    config = make_config()
    obs = drifted_observation()
    plan = plan_drift_on(obs, False, None, config)
    assert (plan.action, plan.reason, plan.drift_detected) == ("none", "no-drift", False)
    young = monitor_drift(snapshot(normal(300, 10)), config)
    assert plan_drift_on(young, False, None, config).reason == "not-ready"


# --- Periodic retraining -------------------------------------------------------------------


def test_retrain_waits_for_a_full_window() -> None:
    config = make_config()
    plan = plan_retrain(normal(300, 299), config)
    assert (plan.action, plan.reason, plan.training_data, plan.n_values) == ("none", "not-enough-data", None, 299)


def test_retrain_uses_the_last_window_of_true_values() -> None:
    config = make_config()
    values = np.arange(1000, dtype=np.float64)
    plan = plan_retrain(values, config)
    assert plan.action == "retrain" and plan.training_data is not None
    np.testing.assert_array_equal(plan.training_data, values[-300:])
    assert not plan.training_data.flags.writeable


# -- which model answers a drift -------------------------------------------------------------

ENERGY = {"lstm": 0.8, "svm": 0.23, "linear": 0.24}  # normalised, as a calibration gives them
KINDS = ("linear", "lstm", "svm")


def target(serving: str, trained: tuple[str, ...], energy: dict[str, float] | None, emas: dict[str, float],
           config: Config) -> tuple[str, TargetReason]:
    snap = TargetSnapshot(serving=serving, trained=trained, normalised_energy=energy, emas=emas,
                          active_versions={kind: 1 for kind in trained})
    return drift_target(snap, config)


def test_published_target_is_the_serving_model_whatever_it_costs() -> None:
    from harmone.experiment import published_config

    assert make_config().drift.target == "frugal"  # the default
    config = published_config(make_config())
    assert config.drift.target == "serving"
    assert target("lstm", KINDS, ENERGY, {"svm": 0.9}, config) == ("lstm", "serving")


def test_frugal_target_keeps_a_serving_model_within_the_energy_goal() -> None:
    config = make_config()
    assert target("svm", KINDS, ENERGY, {}, config) == ("svm", "serving-within-energy-goal")


def test_frugal_target_of_a_costly_model_is_the_best_scoring_cheap_one() -> None:
    config = make_config()
    assert target("lstm", KINDS, ENERGY, {"svm": 0.81, "linear": 0.80, "lstm": 0.95}, config) == (
        "svm", "best-model-within-energy-goal")
    # EMAs not known yet: the configured starting EMAs decide (svm 0.79 over linear 0.75).
    assert target("lstm", KINDS, ENERGY, {}, config)[0] == "svm"
    # Equal EMAs: the cheaper one.
    assert target("lstm", KINDS, ENERGY, {"svm": 0.8, "linear": 0.8}, config)[0] == "svm"
    assert target("lstm", KINDS, {**ENERGY, "linear": 0.1}, {"svm": 0.8, "linear": 0.8}, config)[0] == "linear"


def test_frugal_target_falls_back_to_the_serving_model() -> None:
    config = make_config()
    assert target("lstm", KINDS, None, {}, config) == ("lstm", "not-calibrated")
    assert target("lstm", ("lstm",), ENERGY, {}, config) == ("lstm", "no-model-within-energy-goal")
    tight = config.replace(switch=dataclasses.replace(config.switch, energy_goal=0.2))
    assert target("lstm", KINDS, ENERGY, {}, tight) == ("lstm", "no-model-within-energy-goal")


def test_a_cheap_model_without_an_active_version_cannot_answer() -> None:
    snap = TargetSnapshot(serving="lstm", trained=KINDS, normalised_energy=ENERGY, emas={}, active_versions={"lstm": 1})
    assert drift_target(snap, make_config())[0] == "lstm"


# -- validated reuse: one evaluation, one promotion rule ---------------------------------------

def test_promotion_needs_no_worse_error_on_the_newest_data() -> None:
    assert promote(Evaluation(loss=1.0, score=0.9, n_records=10), Evaluation(loss=1.0, score=0.9, n_records=10))
    assert not promote(Evaluation(loss=1.1, score=0.95, n_records=10), Evaluation(loss=1.0, score=0.9, n_records=10))


def test_a_reuse_that_predicts_worse_than_the_serving_version_is_vetoed() -> None:
    config = make_config()
    obs = drifted_observation(active_version=3)
    worse, better = Evaluation(loss=4.0, score=0.5, n_records=40), Evaluation(loss=1.0, score=0.9, n_records=40)
    vetoed = plan_drift_on(obs, True, (2, 0.3), config, candidate=worse, serving=better)
    assert (vetoed.action, vetoed.reason, vetoed.version) == ("none", "active-version-better", 3)
    kept = plan_drift_on(obs, True, (2, 0.3), config, candidate=better, serving=worse)
    assert (kept.action, kept.version) == ("reuse", 2)


def test_evaluate_measures_a_model_on_the_held_out_newest_windows() -> None:
    from harmone.mape.evaluation import evaluate

    class Persistence:
        kind = "persistence"

        def predict(self, windows: np.ndarray) -> np.ndarray:
            return windows[:, -1]

    values = np.arange(100, dtype=np.float64)
    result = evaluate(Persistence(), values, make_config())
    assert result.loss == pytest.approx(1.0) and result.n_records > 0 and result.score < 1.0


# -- the detector contract ------------------------------------------------------------------------

def test_the_window_kl_detector_updates_in_place_and_round_trips_its_state() -> None:
    config = make_config()
    detector = make_detector(config)
    assert detector.update(1.0) is detector and not detector.ready and detector.score is None
    values = np.concatenate([normal(300, seed=12), normal(500, seed=13)])
    for value in values:
        detector.update(float(value))
    assert detector.ready and detector.drift_detected
    assert detector.score == pytest.approx(kl(values[:WINDOW], values[WINDOW:]))
    again = make_detector(config)
    again.set_state(detector.get_state())
    assert again.score == detector.score and again.drift_detected
    detector.reset()
    assert not detector.ready and not detector.drift_detected


def test_values_appended_one_by_one_keep_the_same_window_as_batches() -> None:
    from harmone.mape.recent import RecentValues

    values = normal(0, 1000, seed=21)
    one, batches = RecentValues(64), RecentValues(64)
    for value in values:
        one.append(float(value))
    for start in range(0, 1000, 37):
        batches.update(values[start:start + 37])
    np.testing.assert_array_equal(one.values, values[-64:])
    np.testing.assert_array_equal(batches.values, values[-64:])


def test_too_few_values_to_evaluate_is_a_one_line_data_error() -> None:
    from harmone.mape.evaluation import evaluate

    class Persistence:
        def predict(self, windows: np.ndarray) -> np.ndarray:
            return windows[:, -1]

    with pytest.raises(DataError, match="held-out windows"):
        evaluate(Persistence(), np.arange(8, dtype=np.float64), make_config())


@pytest.mark.parametrize("threshold", [None, 25.0, 30.0])
def test_the_graded_wait_reads_page_hinkley_s_threshold_whether_or_not_it_is_the_default(
        threshold: float | None) -> None:
    """A quiet Page-Hinkley waits the longest at its default threshold too, not one period."""
    from harmone.config import from_mapping
    from harmone.mape.detection import graded_wait

    table = {} if threshold is None else {"detectors": {"page-hinkley": {"threshold": threshold}}}
    config = from_mapping({"drift": {"detector": "page-hinkley", "quiet_every": 24}, **table})
    limit = config.drift.quiet_below * (25.0 if threshold is None else threshold)
    assert config.detector_params("page-hinkley") == {"delta": 0.25, "threshold": threshold or 25.0,
                                                      "min_instances": 100, "alpha": 0.9999}
    assert graded_wait(0.0, config, 24) == 24
    assert graded_wait(limit / 4, config, 24) == 18
    assert graded_wait(limit, config, 24) == 1
