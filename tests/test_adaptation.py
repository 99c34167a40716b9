"""Adaptation that earns its keep: one-regime snapshots, reuse across kinds, persistence in
validation, counted keeps, a drift check that waits while nothing builds up, warm-start retraining.

Decisions are tested over hand-built snapshots; one seeded run on the built-in stream shows
the return to the training regime answered by a stored version.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from harmone import lifecycle
from harmone.cadence import Schedule
from harmone.config import Config, from_mapping, render
from harmone.data.synth import generate
from harmone.detectors.change_point import locate_change
from harmone.errors import ConfigError
from harmone.experiment import published_config
from harmone.knowledge import Decision, Event, count_events
from harmone.knowledge.events import Action
from harmone.mape.drift import DriftObservation, ReuseSnapshot, TargetSnapshot, new_regime, plan_drift
from harmone.mape.evaluation import Evaluation, baseline, promote
from harmone.mape.reuse import choose_across, reuse_kinds
from harmone.report.results import RunResult
from harmone.runner import run_approach
from harmone.testing import FakeMeter
from harmone.workspace import Workspace

WINDOW = 400


def make_config(**drift: object) -> Config:
    base = Config()
    return base.replace(drift=dataclasses.replace(base.drift, window=WINDOW, **drift))


def observation(data: np.ndarray, *, model: str = "linear", version: int = 2) -> DriftObservation:
    return DriftObservation(ready=True, score=1.0, detected=True, drift_data=data, n_values=2 * data.size,
                            current_model=model, active_version=version)


def two_regimes(old: int, new: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(100, 10, old), rng.normal(160, 10, new)])


# --- one regime per snapshot -----------------------------------------------------------------


def test_the_drift_data_keeps_only_the_values_after_the_located_change() -> None:
    data = two_regimes(150, 250)
    trimmed = new_regime(observation(data), make_config(split_regime=True))
    assert trimmed.change_at is not None and abs(trimmed.change_at - 250) <= WINDOW // 64 + 1
    assert trimmed.drift_data.mean() == pytest.approx(160, abs=3)


def test_a_window_of_one_regime_is_kept_whole() -> None:
    data = np.random.default_rng(1).normal(100, 10, WINDOW)
    assert locate_change(data, WINDOW // 4) is None
    kept = new_regime(observation(data), make_config(split_regime=True))
    assert kept.drift_data.size == WINDOW and kept.change_at is None


def test_without_split_regime_the_whole_window_is_the_drift_data_as_published() -> None:
    data = two_regimes(150, 250)
    assert new_regime(observation(data), make_config(split_regime=False)).drift_data.size == WINDOW


def test_each_side_of_a_located_change_keeps_a_quarter_of_the_window() -> None:
    data = two_regimes(390, 10)  # the change is too recent to leave enough new values
    trimmed = new_regime(observation(data), make_config(split_regime=True))
    assert trimmed.drift_data.size >= WINDOW // 4


# --- reuse across kinds, keeps and persistence ----------------------------------------------


def target(**energy: float) -> TargetSnapshot:
    return TargetSnapshot(serving="lstm", trained=("linear", "lstm", "svm"), normalised_energy=energy or None,
                          emas={}, active_versions={"linear": 1, "lstm": 3, "svm": 2})


def test_versions_of_every_kind_within_the_energy_goal_may_answer_a_drift() -> None:
    config = make_config(reuse_scope="all")
    goal = config.switch.energy_goal
    assert reuse_kinds(target(linear=goal / 2, svm=goal * 2, lstm=1.0), "linear", config) == ["linear", "lstm"]
    assert reuse_kinds(target(), "lstm", config) == ["linear", "lstm", "svm"]  # no calibration: every kind


def test_versions_trained_on_the_same_data_tie_and_go_to_the_answering_kind() -> None:
    sample = np.random.default_rng(2).normal(100, 10, 500)
    samples = {("linear", 1): sample, ("svm", 1): sample, ("svm", 2): sample + 500}
    (kind, version), kl, divergences = choose_across(sample, samples, "svm", make_config())
    assert (kind, version) == ("svm", 1) and kl == pytest.approx(0.0, abs=1e-9) and len(divergences) == 3


def reuse(kind: str, version: int, *, candidate: float | None = None, serving: float = 5.0,
          baseline: float | None = None) -> ReuseSnapshot:
    def ev(mse: float | None) -> Evaluation | None:
        return None if mse is None else Evaluation(loss=mse, score=0.5, n_records=50)

    return ReuseSnapshot(observation=observation(np.zeros(WINDOW), model="linear", version=1), choice=(version, 0.1),
                         divergences={f"{kind}:{version}": 0.1}, candidate=ev(candidate),
                         serving=ev(serving if candidate is not None else None), kind=kind, serving_model="lstm",
                         serving_version=3, persistence=ev(baseline))


def test_a_close_version_of_another_kind_is_reused_and_served() -> None:
    plan = plan_drift(reuse("svm", 2, candidate=1.0, baseline=2.0), True, make_config())
    assert (plan.action, plan.reason, plan.kind, plan.version) == (Action.REUSE, Decision.REUSE, "svm", 2)


def test_the_serving_version_being_closest_is_a_keep_not_a_retrain() -> None:
    plan = plan_drift(reuse("lstm", 3), True, make_config())
    assert (plan.action, plan.reason, plan.drift_detected) == (Action.NONE, Decision.ACTIVE_VERSION_FITS, True)


def test_a_candidate_worse_than_persistence_is_not_promoted_even_when_it_beats_the_serving_version() -> None:
    plan = plan_drift(reuse("svm", 2, candidate=2.0, serving=5.0, baseline=1.0), True, make_config())
    assert (plan.action, plan.reason, plan.version) == (Action.NONE, Decision.BELOW_PERSISTENCE, 3)
    assert not promote(Evaluation(2.0, 0.1, 9), Evaluation(5.0, 0.0, 9), Evaluation(1.0, 0.5, 9))
    assert promote(Evaluation(2.0, 0.1, 9), Evaluation(5.0, 0.0, 9))


def test_persistence_is_judged_on_the_held_out_windows_only_when_asked() -> None:
    ramp = np.arange(300, dtype=np.float64)
    assert baseline(ramp, make_config(beat_persistence=False)) is None
    naive = baseline(ramp, make_config(beat_persistence=True))
    assert naive is not None and naive.loss == pytest.approx(1.0)  # each value is one above the last


def test_keeps_are_counted_apart_from_reuses_and_retrains() -> None:
    events = [Event(time_s=t, loop="drift", action="none", decision=d, observed={"drift_detected": True})
              for t, d in ((1.0, "active-version-fits"), (2.0, "active-version-better"), (3.0, "below-persistence"))]
    events.append(Event(time_s=4.0, loop="drift", action="reuse", decision="reuse", observed={"drift_detected": True}))
    counts = count_events(events)
    assert (counts.keeps, counts.reuses, counts.retrains, counts.drift_detections) == (3, 1, 0, 4)


# --- settings --------------------------------------------------------------------------------


def test_the_published_mode_keeps_the_published_drift_loop() -> None:
    drift, retrain = published_config(Config()).drift, published_config(Config()).retrain
    assert (drift.trigger, drift.quiet_every, drift.split_regime, drift.reuse_scope, drift.beat_persistence) == \
        ("none", 1, False, "target", False)
    assert not retrain.warm_start


def test_an_unknown_trigger_is_a_one_line_config_error() -> None:
    with pytest.raises(ConfigError, match=r"\[drift\]: trigger = 'nope'"):
        from_mapping({"drift": {"trigger": "nope"}})


# --- warm start ------------------------------------------------------------------------------


def test_a_warm_start_fine_tunes_the_serving_lstm_for_warm_epochs() -> None:
    from harmone.training import train

    series = 200 + 50 * np.sin(np.arange(900) * 2 * np.pi / 96) + np.random.default_rng(0).normal(0, 5, 900)
    base = Config()
    config = base.replace(models={"lstm": {"epochs": 2, "hidden_size": 8}},
                          retrain=dataclasses.replace(base.retrain, warm_start=True, warm_epochs=1))
    first = train("lstm", series[:600], config, seed=0)
    warm = train("lstm", series[300:], config, retrain=True, seed=0, initial=first.model)
    scratch = train("lstm", series[300:], config, retrain=True, seed=0)
    assert warm.params["epochs"] == 1 and warm.metrics["warm_start"] is True
    assert "warm_start" not in scratch.metrics
    assert warm.metrics["holdout_r2"] > 0.5


def test_a_warm_start_keeps_the_serving_versions_validated_strength_and_fits_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import harmone.models.svm as svm
    from harmone.training import train

    series = 200 + 50 * np.sin(np.arange(1500) * 2 * np.pi / 96) + np.random.default_rng(1).normal(0, 5, 1500)
    config = Config()
    first = train("svm", series[:900], config, seed=0)
    chosen = first.metrics["selected"]["C"]
    fits: list[float] = []
    real = svm._svr

    def counted(C: float, *args: object) -> tuple[np.ndarray, float]:
        fits.append(C)
        return real(C, *args)

    monkeypatch.setattr(svm, "_svr", counted)
    warm = train("svm", series[600:], config, retrain=True, initial=first.model)
    assert fits == [chosen] and warm.metrics["warm_start"] is True
    assert warm.metrics["selected"] == {"C": chosen} and warm.params["select"] == "fixed"
    fits.clear()
    scratch = train("svm", series[600:], config, retrain=True)
    assert len(fits) == len(svm.C_GRID) * 3 + 1 and "warm_start" not in scratch.metrics
    assert warm.metrics["holdout_r2"] == pytest.approx(scratch.metrics["holdout_r2"], abs=0.02)


def test_a_loaded_version_remembers_what_its_validation_chose(tmp_path: Path) -> None:
    from harmone.repository import ModelRepository
    from harmone.testing import small_workspace
    from harmone.training import warm_start_from

    workspace = small_workspace(tmp_path / "ws")
    lifecycle.train_initial(workspace, ["linear", "persistence"])
    repository = ModelRepository(workspace)
    stored = repository.meta("linear", 1)["metrics"]["selected"]
    assert repository.load("linear", 1).model.selected_ == stored == \
        warm_start_from(repository, "linear", workspace.config).selected_
    assert warm_start_from(repository, "persistence", workspace.config) is None
    cold = workspace.config.replace(retrain=dataclasses.replace(workspace.config.retrain, warm_start=False))
    assert warm_start_from(repository, "linear", cold) is None


# --- seeded runs on the built-in stream ------------------------------------------------------


@pytest.fixture(scope="module")
def synth_workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, list[float]]:
    stream = generate(seed=0)
    root = tmp_path_factory.mktemp("adapt") / "ws"
    workspace, _ = Workspace.init(root)
    workspace = Workspace.open(root)
    lifecycle.use_series(workspace, stream.values)
    lifecycle.train_initial(workspace, ["linear", "svm"])
    workspace.write_active_model("linear")
    offset = stream.train_steps + workspace.config.stream.input_length
    changes = [(regime.start - offset) * workspace.config.stream.interval_s for regime in stream.regimes[1:]]
    return workspace, changes


def _run(source: Workspace, root: Path, **drift: object) -> RunResult:
    shutil.copytree(source.root, root, symlinks=True)
    copy = Workspace(root)
    config = source.config
    copy.config_path.write_text(render(config.replace(drift=dataclasses.replace(config.drift, **drift))),
                                encoding="utf-8")
    return run_approach(Workspace.open(root), "harmone", seed=0, meter=FakeMeter())


def test_the_return_to_the_training_regime_is_answered_by_a_stored_version(
        synth_workspace: tuple[Workspace, list[float]], tmp_path: Path) -> None:
    workspace, changes = synth_workspace
    result = _run(workspace, tmp_path / "ws")
    answers = [e for e in result.events if e.loop == "drift" and e.drift_detected and e.time_s >= changes[-1]]
    assert answers, "the return to the training regime was not detected"
    assert answers[0].decision in (Decision.REUSE, Decision.ACTIVE_VERSION_FITS, Decision.ACTIVE_VERSION_BETTER)
    assert result.keeps + result.reuses >= 1


def test_a_quiet_check_waits_and_still_detects_every_change_as_early(
        synth_workspace: tuple[Workspace, list[float]], tmp_path: Path) -> None:
    workspace, changes = synth_workspace
    every = _run(workspace, tmp_path / "every", quiet_every=1)
    quiet = _run(workspace, tmp_path / "quiet", quiet_every=8)

    def first_detections(result: RunResult) -> list[float]:
        times = [e.time_s for e in result.events if e.loop == "drift" and e.drift_detected]
        return [min(t for t in times if t >= change) for change in changes]

    runs = [sum(e.loop == "drift" for e in r.events) for r in (every, quiet)]
    assert runs[1] < runs[0] / 2
    for published, waited in zip(first_detections(every), first_detections(quiet)):
        assert waited <= published + Schedule.of(workspace.config).drift_every_s


def test_the_frugal_target_sees_what_a_retraining_would_cost() -> None:
    from harmone.mape.drift import drift_target
    from harmone.training import warm_share

    config = make_config(target="frugal")
    epochs = config.model_params("lstm", retrain=True)["epochs"]
    # A warm start costs warm_epochs of the epochs; a kept strength one fit of a validated fit's
    # thirteen-odd; a kind that starts from nothing (persistence) or has no version, all of it.
    assert 40.0 * warm_share(config, "lstm", True) == pytest.approx(40.0 * config.retrain.warm_epochs / epochs)
    assert warm_share(config, "svm", True) == pytest.approx(1 / 7)
    assert warm_share(config, "persistence", True) == 1.0 and warm_share(config, "lstm", False) == 1.0
    goal = config.switch.energy_goal
    snapshot = TargetSnapshot(serving="lstm", trained=("linear", "lstm", "svm"),
                              normalised_energy={"lstm": 1.0, "linear": goal / 2, "svm": goal / 2},
                              emas={"linear": 0.8, "svm": 0.8}, active_versions={"linear": 1, "lstm": 1, "svm": 1},
                              retrain_cost_s={"linear": 0.5, "svm": 0.1})
    assert drift_target(snapshot, config) == ("svm", "best-model-within-energy-goal")


def test_the_wait_between_checks_shrinks_as_the_score_nears_the_threshold(tmp_path: Path) -> None:
    from harmone.knowledge import KnowledgeStore
    from harmone.mape.drift_loop import DriftLoop
    from harmone.mape.execute import InlineRetrainer

    workspace, _ = Workspace.init(tmp_path / "ws")
    config = workspace.config.replace(drift=dataclasses.replace(workspace.config.drift, quiet_every=16,
                                                                quiet_below=0.5))
    with KnowledgeStore(workspace.db_path) as store:
        loop = DriftLoop(workspace=workspace, store=store, meter=FakeMeter(), config=config, now=0.0,
                         retrainer=InlineRetrainer(workspace, config))
        waits = []
        for score in (None, 0.0, 0.1, 0.3, 0.37, 0.5):
            loop.last_score = score
            waits.append(loop.wait_periods())
    assert waits == [1, 16, 12, 4, 1, 1]
