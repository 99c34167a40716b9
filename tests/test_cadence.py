"""Loop timings in predictions or seconds, short streams, the short preset and the served kinds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harmone import config as config_mod
from harmone import lifecycle
from harmone.cadence import Schedule, experiment_note, explain, with_preset
from harmone.config import Config
from harmone.errors import ConfigError
from harmone.experiment import published_config
from harmone.mape.loop_base import next_time
from harmone.runner import run_approach
from harmone.testing import FakeMeter
from harmone.workspace import Workspace

from conftest import FAST_CONFIG, edit_config, seasonal_series

FAKE_METER = {'meter = "auto"': 'meter = "fake"'}


def _fire_steps(first_s: float, every_s: float, cadence: float, n: int) -> list[int]:
    """Predictions after which a loop with this schedule runs, on a clock that sums the cadence."""
    fired, now, due = [], 0.0, first_s
    for step in range(1, n + 1):
        now += cadence
        if now >= due:
            fired.append(step)
            due = next_time(due, every_s, now)
    return fired


def test_a_timing_in_predictions_fires_after_exactly_that_many_predictions() -> None:
    schedule = Schedule.of(Config())
    assert _fire_steps(schedule.switch_first_s, schedule.switch_every_s, 0.15, 1100) == [267, 534, 801, 1068]
    drift = _fire_steps(schedule.drift_warmup_s, schedule.drift_every_s, 0.15, 2800)
    assert drift[:3] == [2667, 2687, 2707] and all(b - a == 20 for a, b in zip(drift, drift[1:]))
    assert _fire_steps(schedule.retrain_first_s, schedule.retrain_every_s, 0.15, 7000) == [3333, 6666]


def test_the_published_seconds_keep_their_published_firing_steps() -> None:
    schedule = Schedule.of(config_mod.published_loops(Config()))
    # 40 s is 266.7 predictions: the published loop ran after 267, 534, then 800 and 1067.
    assert _fire_steps(schedule.switch_first_s, schedule.switch_every_s, 0.15, 1100)[:2] == [267, 534]
    assert schedule.switch_first_s == 40.0 and schedule.drift_cooldown_s == 400.0


def test_a_timing_is_given_in_predictions_or_in_seconds_not_both() -> None:
    seconds = config_mod.from_mapping({"switch": {"interval_s": 30.0}})
    assert (seconds.switch.interval_s, seconds.switch.interval_steps) == (30.0, None)
    with pytest.raises(ConfigError, match=r"\[switch\].*interval_steps and interval_s.*one of the two"):
        config_mod.from_mapping({"switch": {"interval_s": 30.0, "interval_steps": 100}})
    with pytest.raises(ConfigError, match=r"\[drift\]: exactly one of warmup_steps and warmup_s"):
        config_mod.check_across(Config().replace(drift=Config().drift.__class__(warmup_steps=None)))
    # The rendered file reads back to the same configuration, whichever unit is in effect.
    for config in (Config(), config_mod.published_loops(Config()), with_preset(Config(), "short")):
        again = config_mod.from_mapping(config_mod.tomllib.loads(config_mod.render(config)))
        assert (again.stream, again.switch, again.drift, again.retrain) == (
            config.stream, config.switch, config.drift, config.retrain)


def test_a_too_short_stream_gets_one_line_naming_the_loops_and_the_settings() -> None:
    note = explain(Config(), {"switch", "drift", "retrain"}, 995)
    assert note is not None and "\n" not in note
    assert "drift first checks after 2,667 (lower [drift] warmup_steps)" in note
    assert "retrain first runs after 3,333 (lower [retrain] interval_steps)" in note
    assert "switch" not in note.split(":")[1] and "--preset short" in note
    assert explain(Config(), {"switch", "drift", "retrain"}, 30_000) is None
    assert explain(with_preset(Config(), "short"), {"switch", "drift", "retrain"}, 995) is None


def test_a_detector_that_needs_more_values_than_the_warm_up_names_its_own_setting() -> None:
    """The windowed KL scores only after two windows; the note names where its window is set."""
    config = config_mod.from_mapping({"drift": {"warmup_steps": 100, "window": 600}})
    note = explain(config, {"drift"}, 995)
    assert note is not None and "drift window-kl scores after 1,200 values (lower [drift] window)" in note
    assert explain(config, {"drift"}, 1_200) is None
    quick = config_mod.from_mapping({"drift": {"warmup_steps": 100, "window": 600, "detector": "page-hinkley"}})
    assert explain(quick, {"drift"}, 995) is None
    assert quick.detector_setting("page-hinkley", "threshold") == "[detectors.page-hinkley] threshold"


def _short_workspace(root: Path, *, preset: bool) -> Workspace:
    """1,000 test values; linear, svm and persistence trained."""
    workspace, _ = Workspace.init(root)
    if preset:
        workspace.config_path.write_text(config_mod.render(with_preset(Config(), "short")), encoding="utf-8")
    edit_config(workspace, {**FAST_CONFIG, **FAKE_METER})
    workspace = Workspace.open(root)
    _, test = lifecycle.use_series(workspace, seasonal_series(1600, seed=4), train_ratio=0.375)
    assert len(test) == 1000
    lifecycle.train_initial(workspace, ["linear", "svm", "persistence"])
    workspace.write_active_model("linear")
    return workspace


@pytest.fixture(scope="module")
def short_preset(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return _short_workspace(tmp_path_factory.mktemp("short") / "ws", preset=True)


def test_with_the_short_preset_every_loop_runs_on_1000_test_values(short_preset: Workspace) -> None:
    harmone = run_approach(short_preset, "harmone", seed=0, meter=FakeMeter())
    loops = {e.loop for e in harmone.events}
    assert loops == {"switch", "drift"}
    checks = [e for e in harmone.events if e.loop == "drift" and e.observed.get("detector_score") is not None]
    assert checks, "the drift loop never compared two full windows"
    retrain = run_approach(short_preset, "switch+retrain", seed=0, meter=FakeMeter())
    assert [e for e in retrain.events if e.loop == "retrain" and e.action == "retrain"]
    assert retrain.retrains >= 1


def test_status_and_run_say_which_loops_never_run_on_a_short_stream(tmp_path: Path) -> None:
    workspace = _short_workspace(tmp_path / "ws", preset=False)
    harmone = [sys.executable, "-m", "harmone"]
    where = ["-w", str(workspace.root)]
    status = subprocess.run([*harmone, "status", *where], capture_output=True, text=True, check=True)
    notes = [line for line in status.stdout.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "drift first checks after 2,667" in notes[0] and "warmup_steps" in notes[0]
    run = subprocess.run([*harmone, "run", *where, "--approach", "harmone", "--simulate", "--steps", "50", "--quiet"],
                         capture_output=True, text=True, check=True)
    assert "switch first runs after 267 (lower [switch] interval_steps)" in run.stderr
    # experiment: the loops of every approach compared, in the timings of the mode it runs in.
    note = experiment_note(workspace, ["harmone", "single-linear+retrain"], None)
    assert note is not None and "drift first checks after 2,667" in note and "retrain first runs after 3,333" in note
    published = experiment_note(workspace, ["switch+retrain"], None, published=True)
    assert published is not None and "retrain first runs after 3,334" in published and "drift" not in published


def test_train_without_models_trains_the_served_kinds_and_the_published_mode_serves_three() -> None:
    assert lifecycle.parse_kinds(None, ("linear", "persistence")) == ["linear", "persistence"]
    assert published_config(Config()).stream.models == ("lstm", "svm", "linear")
    with pytest.raises(ConfigError, match=r"\[stream\]: models names lasso"):
        config_mod.from_mapping({"stream": {"models": ["linear", "lasso"]}})


# --- the switch score -------------------------------------------------------------------------


def test_the_skill_score_stays_bounded_on_a_calm_window_where_r2_explodes() -> None:
    from harmone.mape.monitor import monitor_switch
    from harmone.mape.snapshot import PredictionBatch, SwitchSnapshot, initial_switch_state

    rng = np.random.default_rng(0)
    true = 100 + rng.normal(0, 0.01, 267)  # almost no variance
    batch = PredictionBatch(true_value=true, predicted_value=true + rng.normal(0, 0.2, 267),
                            energy_uj=np.zeros(267), model=np.array(["linear"] * 267), last_row_id=267)
    scores = {}
    for name, config in (("skill", Config()), ("r2", config_mod.published_loops(Config()))):
        snap = SwitchSnapshot(current_model="linear", available_models=("linear",), batch=batch,
                              state=initial_switch_state(config, ["linear"]), e_min_uj=0.0, e_max_uj=1.0)
        figures = monitor_switch(snap, config).current
        assert figures is not None
        scores[name] = figures.score
    assert scores["r2"] < -100
    assert -1.0 <= scores["skill"] <= 1.0


@pytest.fixture(scope="module")
def trend_base(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A seasonal series that climbs far above its training range: the published min-max Ridge
    (alpha 256) stays near the training level and loses to persistence; skill score defaults."""
    from conftest import PUBLISHED_MODELS

    root = tmp_path_factory.mktemp("trend") / "ws"
    workspace, _ = Workspace.init(root)
    edit_config(workspace, {**FAST_CONFIG, **FAKE_METER, **PUBLISHED_MODELS})
    workspace = Workspace.open(root)
    values = seasonal_series(5000, seed=2) + np.linspace(0.0, 3000.0, 5000)
    lifecycle.use_series(workspace, values, train_ratio=0.3)
    lifecycle.train_initial(workspace, ["linear", "svm", "persistence"])
    workspace.write_active_model("linear")
    return workspace


@pytest.mark.parametrize("approach", ["harmone", "switch", "switch+retrain"])
def test_no_switching_approach_ends_on_a_model_below_persistence(
        trend_base: Workspace, tmp_path: Path, approach: str) -> None:
    import shutil

    shutil.copytree(trend_base.root, tmp_path / "ws", symlinks=True)
    workspace = Workspace.open(tmp_path / "ws")
    summary = run_approach(workspace, approach, seed=1, meter=FakeMeter())
    runs = [e for e in summary.events if e.loop == "switch"]
    assert runs
    for event in runs:
        source = event.observed["source"]
        skill = event.observed["per_model"].get(source, {}).get("skill")
        if skill is not None and skill < 0 and event.observed["reason"] != "recovery" and source != "persistence":
            assert event.observed["target"] == "persistence", event.observed
    last = runs[-1]
    final = last.model
    assert final == "persistence" or last.observed["per_model"].get(final, {}).get("skill", 0.0) >= 0.0
    assert any(e.observed.get("target") == "persistence" for e in runs), "persistence was never needed here"


def test_a_model_never_tried_starts_at_its_held_out_score(trend_base: Workspace, tmp_path: Path) -> None:
    import shutil

    from harmone.knowledge import KnowledgeStore, LoopName
    from harmone.repository import ModelRepository

    shutil.copytree(trend_base.root, tmp_path / "ws", symlinks=True)
    workspace = Workspace.open(tmp_path / "ws")
    run_approach(workspace, "switch", steps=10, seed=0, meter=FakeMeter())
    with KnowledgeStore(workspace.db_path) as store:
        ema = store.loop_state(LoopName.SWITCH).switch.ema
    repository = ModelRepository(workspace)
    beta = workspace.config.switch.beta
    for kind in ("linear", "svm", "persistence"):
        skill = repository.meta(kind, 1)["metrics"]["holdout_skill"]
        assert ema[kind] == pytest.approx(beta * max(-1.0, min(1.0, skill)) + (1 - beta) * 0.5)
    assert ema["persistence"] == pytest.approx((1 - beta) * 0.5)
