"""Settings reach running processes: a changed harmone.toml is taken up, an invalid one is not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harmone import config as config_mod
from harmone.approaches import get_approach
from harmone.config import Config
from harmone.config_reload import ConfigFollower, Reload, take_up
from harmone.knowledge import Event, KnowledgeStore
from harmone.mape.execute import InlineRetrainer, RetrainRequest, SubprocessRetrainer
from harmone.session import Session
from harmone.testing import seeded_series, small_workspace
from harmone.workspace import Workspace

from conftest import edit_config


@pytest.fixture
def small(tmp_path: Path) -> Workspace:
    return small_workspace(tmp_path / "ws")


def _session(workspace: Workspace, approach: str = "switch") -> Session:
    """An in-process run in simulated time that looks at harmone.toml after every prediction."""
    session = Session(workspace, config_check_s=0.0)
    session.start_engine(from_start=True)
    session.start_manager(get_approach(approach), retrainer=InlineRetrainer(workspace, session.config), seed=0)
    return session


def _edited_while_running(workspace: Workspace, edits: dict[str, str], *, before: int, after: int) -> Config:
    """Drive ``before`` predictions, edit harmone.toml, drive ``after`` more; the settings then in effect."""
    with _session(workspace) as session:
        session.drive(before, interval_s=None)
        edit_config(workspace, edits)
        session.drive(after, interval_s=None)  # the file is looked at after each of these predictions
        return session.config


def _events(workspace: Workspace, loop: str) -> list[Event]:
    with KnowledgeStore(workspace.db_path) as store:
        return store.events(loop=loop)


def test_a_running_manager_takes_up_a_changed_harmone_toml(small: Workspace) -> None:
    config = _edited_while_running(small, {"interval_steps = 267\n": "interval_steps = 50\n",
                                           "interval_s = 0.15": "interval_s = 0.3"}, before=300, after=300)
    assert config.switch.interval_steps == 50 and config.stream.interval_s == 0.3

    [change] = _events(small, "config")
    assert change.decision == "settings-changed" and change.error is None
    assert change.observed["process"] == "run" and change.observed["pid"] == os.getpid()
    assert change.observed["changed"] == {"stream.interval_s": {"from": 0.15, "to": 0.3},
                                          "switch.interval_steps": {"from": 267, "to": 50}}
    runs = _events(small, "switch")
    before = [e for e in runs if e.id < change.id]
    after = [e for e in runs if e.id > change.id]
    assert len(before) == 1  # at 40 s, one period of 267 predictions
    # The shorter period applies at once: the next run is one new period after the change, and
    # every run from then on reads 50 predictions made 0.3 s apart (the new cadence).
    assert len(after) == 5 and all(e.observed["rows"] == 50 for e in after[1:])
    assert np.diff([e.time_s for e in after]) == pytest.approx([50 * 0.3] * 4, rel=1e-9)


def test_an_invalid_harmone_toml_keeps_the_running_settings_and_records_one_error(small: Workspace) -> None:
    edits = {"interval_steps = 267\n": "interval_steps = 50\n", "beta = 0.95": "beta = 2.0"}
    config = _edited_while_running(small, edits, before=100, after=500)
    assert config.switch.interval_steps == 267 and config.switch.beta == 0.95

    [error] = _events(small, "config")
    assert error.decision == "error" and "harmone.toml [switch]: beta = 2.0 is out of range" in (error.error or "")
    assert "the running settings are kept" in (error.error or "")
    runs = _events(small, "switch")
    assert len(runs) == 2 and runs[1].observed["rows"] == 267  # the old period


def test_a_setting_that_shapes_stored_data_is_refused_by_name_and_the_rest_taken_up(small: Workspace) -> None:
    config = _edited_while_running(small, {"input_length = 5": "input_length = 8", "gamma = 0.8": "gamma = 0.5"},
                                   before=10, after=10)
    assert config.stream.input_length == 5 and config.switch.gamma == 0.5

    error, change = _events(small, "config")
    assert error.decision == "error" and error.observed["refused"] == {"stream.input_length": {"kept": 5, "asked": 8}}
    assert "stream.input_length = 8 cannot change while running" in (error.error or "")
    assert change.observed["changed"] == {"switch.gamma": {"from": 0.8, "to": 0.5}}


def test_a_new_detector_starts_detection_afresh(small: Workspace) -> None:
    edit_config(small, {"warmup_steps = 2667": "warmup_steps = 100", "window = 1200": "window = 100"})
    small = Workspace.open(small.root)
    with _session(small, "harmone") as session:
        session.drive(190, interval_s=None)  # the drift checks are not ready yet (2 x 100 values)
        drift = next(loop for loop in session.manager.loops if loop.name == "drift")  # type: ignore[union-attr]
        assert drift.detector.name == "window-kl"
        edit_config(small, {'detector = "window-kl"': 'detector = "page-hinkley"'})
        session.drive(100, interval_s=None)
        assert drift.detector.name == "page-hinkley"
    [change] = _events(small, "config")
    assert change.observed["changed"] == {"drift.detector": {"from": "window-kl", "to": "page-hinkley"}}
    checks = [e for e in _events(small, "drift") if e.id > change.id]
    # The new detector is fed the newest 2 x window values again, as after a restart.
    assert checks and checks[0].observed["values"] == 200


def test_running_inference_serves_a_new_default_model_and_cadence(small: Workspace) -> None:
    small.model_switch_path.unlink()  # no model.csv: the default model serves
    edit_config(small, {'default_model = "lstm"': 'default_model = "linear"'})
    with Session(Workspace.open(small.root), config_check_s=0.0) as session:
        session.start_engine(from_start=True)
        session.drive(100, interval_s=None)
        edit_config(small, {'default_model = "linear"': 'default_model = "svm"',
                            "interval_s = 0.15": "interval_s = 1.5"})
        session.drive(100, interval_s=None)
    with KnowledgeStore(small.db_path) as store:
        rows = store.predictions_after(0)
    served = list(rows.model)
    first = served.index("svm")  # the save is looked at after prediction 101, read after 102
    assert first == 102 and set(served[:first]) == {"linear"} and set(served[first:]) == {"svm"}
    assert np.diff(rows.time_s)[:100] == pytest.approx(0.15) and np.diff(rows.time_s)[first:] == pytest.approx(1.5)
    [change] = _events(small, "config")
    assert change.observed["process"] == "infer" and set(change.observed["changed"]) == {
        "stream.default_model", "stream.interval_s"}


def _look(follower: ConfigFollower) -> Reload | None:
    follower.next_check_s = 0.0  # as if the period had passed
    return follower.poll()


def test_a_follower_looks_once_a_period_reads_a_settled_file_and_reports_it_once(small: Workspace) -> None:
    follower = ConfigFollower(small.config_path, small.config, every_s=3600.0)
    assert follower.poll() is None and _look(follower) is None  # the file it started with
    edit_config(small, {"beta = 0.95": "beta = 0.9"})
    assert follower.poll() is None  # within the period: not looked at
    assert _look(follower) is None  # changed: read once it stays so for one more look
    small.config_path.write_text("", encoding="utf-8")  # an editor writing in place, caught half way
    assert _look(follower) is None
    small.config_path.write_text(config_mod.render(small.config).replace("beta = 0.95", "beta = 0.9"),
                                 encoding="utf-8")
    assert _look(follower) is None
    reload = _look(follower)
    assert reload is not None and reload.changed == {"switch.beta": (0.95, 0.9)}
    assert _look(follower) is None and follower.config.switch.beta == 0.9  # the same file: nothing new


def test_a_change_that_changes_no_setting_reports_nothing(small: Workspace) -> None:
    text = small.config_path.read_text(encoding="utf-8")
    small.config_path.write_text("# edited by hand\n" + text, encoding="utf-8")
    reload = take_up(small.config, small.config_path)
    assert (reload.changed, reload.refused, reload.error) == ({}, {}, None)


def test_a_refused_setting_that_leaves_the_rest_invalid_keeps_everything(small: Workspace) -> None:
    # The drift window must exceed input_length + 1: valid with the new input length, not with the old.
    small.config_path.write_text(config_mod.render(small.config).replace("input_length = 5", "input_length = 2")
                                 .replace("window = 1200", "window = 6"), encoding="utf-8")
    reload = take_up(small.config, small.config_path)
    assert reload.config is small.config and reload.changed == {}
    assert "stream.input_length = 2 cannot change while running" in (reload.error or "")
    assert "window = 6 must exceed stream.input_length + 1 = 6" in (reload.error or "")


def test_a_retraining_child_uses_the_managers_settings_not_the_file(small: Workspace) -> None:
    config = small.config
    small.config_path.write_text("[switch]\nbeta = 2.0\n", encoding="utf-8")  # saved while the manager runs
    job = SubprocessRetrainer(small).submit(RetrainRequest("linear", seeded_series(500), "periodic", 0, config=config))
    deadline = time.monotonic() + 60
    while (result := job.poll()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert result is not None and result.version == 2


@pytest.mark.slow
def test_a_running_harmone_manage_takes_up_a_saved_harmone_toml(small: Workspace) -> None:
    root = str(small.root)
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    env.pop("HARMONE_WORKSPACE", None)
    # Time scale 40: a switch period of 267 x 0.15 s = 40 s is one real second.
    manage = subprocess.Popen([sys.executable, "-m", "harmone", "manage", "--time-scale", "40", "--seed", "0",
                               "-w", root], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert manage.stdout is not None and "Managing" in manage.stdout.readline()
        edit_config(small, {"interval_steps = 267\n": "interval_steps = 67\n"})  # 40 s -> 10 s
        deadline = time.monotonic() + 30
        after: list[Event] = []
        while len(after) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
            changes = _events(small, "config")
            after = [e for e in _events(small, "switch") if changes and e.id > changes[0].id]
        manage.send_signal(signal.SIGTERM)
        out, err = manage.communicate(timeout=20)
        assert manage.returncode == 0, err
    finally:
        if manage.poll() is None:
            manage.kill()
            manage.communicate()
    changes = _events(small, "config")
    assert len(changes) == 1, [(e.decision, e.observed) for e in changes]
    change = changes[0]
    assert change.observed["process"] == "manage" and change.observed["pid"] == manage.pid
    assert change.observed["changed"] == {"switch.interval_steps": {"from": 267, "to": 67}}
    assert "settings-changed" in out and "switch.interval_steps 267 -> 67" in out
    # The runs after the change come every 67 x 0.15 = 10.05 s of the manager's clock.
    gaps = np.diff([e.time_s for e in after])
    assert len(gaps) >= 3 and np.median(gaps) == pytest.approx(10.05, abs=1.0)
    listed = json.loads(subprocess.run([sys.executable, "-m", "harmone", "events", "--loop", "config", "--json",
                                        "-w", root], env=env, capture_output=True, text=True, check=True).stdout)
    assert [e["decision"] for e in listed] == ["settings-changed"]
