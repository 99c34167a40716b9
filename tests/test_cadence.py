"""Loop timings in predictions or seconds, short streams, the short preset and the served kinds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harmone import config as config_mod
from harmone import lifecycle
from harmone.cadence import Schedule, explain, with_preset
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
    checks = [e for e in harmone.events if e.loop == "drift" and e.observed.get("window_kl") is not None]
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


def test_train_without_models_trains_the_served_kinds_and_the_published_mode_serves_three() -> None:
    assert lifecycle.parse_kinds(None, ("linear", "persistence")) == ["linear", "persistence"]
    assert published_config(Config()).stream.models == ("lstm", "svm", "linear")
    with pytest.raises(ConfigError, match=r"\[stream\]: models names lasso"):
        config_mod.from_mapping({"stream": {"models": ["linear", "lasso"]}})
