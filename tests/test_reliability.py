"""One writer per workspace, crash-consistent state, retraining children that cannot outlive or
outrank their manager. Each test names the defect it covers (D1..D11 of the reliability audit)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from harmone import lock
from harmone.errors import HarmonEError, WorkspaceError
from harmone.knowledge import Decision, KnowledgeStore, Outcome
from harmone.knowledge import store as store_mod
from harmone.repository import ModelRepository
from harmone.testing import process_stopped
from harmone.workspace import Workspace

PYTHON = [sys.executable, "-m", "harmone"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in {"HARMONE_WORKSPACE", "HARMONE_DEBUG"}}


def _harmone(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PYTHON, *argv], text=True, capture_output=True, env=_env(), timeout=120,
                          stdin=subprocess.DEVNULL, cwd=cwd)


def _wait_for_holder(workspace: Workspace, name: str, timeout_s: float = 30.0) -> lock.Holder:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        holder = lock.holders(workspace.knowledge_dir)[name]
        if holder is not None:
            return holder
        time.sleep(0.05)
    raise AssertionError(f"nobody took the {name} lock")


def _predictions(workspace: Workspace) -> int:
    with KnowledgeStore(workspace.db_path) as store:
        return store.count_predictions()


@pytest.fixture
def running_infer(trained_workspace: Workspace):
    """A `harmone infer` that streams slowly in the background, holding the inference lock."""
    process = subprocess.Popen([*PYTHON, "infer", "-w", str(trained_workspace.root), "--interval", "0.02",
                                "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(),
                               stdin=subprocess.DEVNULL)
    try:
        yield process, _wait_for_holder(trained_workspace, lock.INFERENCE)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


# -- D2: one writer per workspace ------------------------------------------------------------

@pytest.mark.slow
def test_d2_a_second_infer_and_a_reset_refuse_while_infer_runs(trained_workspace: Workspace,
                                                               running_infer: tuple) -> None:
    process, holder = running_infer
    assert holder.pid == process.pid and "infer" in holder.command
    second = _harmone("infer", "-w", str(trained_workspace.root), "--steps", "5", "--interval", "0")
    assert second.returncode == 1
    assert second.stderr.count("\n") == 1 and f"pid {process.pid}" in second.stderr and "infer" in second.stderr
    reset = _harmone("reset", "-w", str(trained_workspace.root), "--yes")
    assert reset.returncode == 1 and f"pid {process.pid}" in reset.stderr
    assert ModelRepository(trained_workspace).trained_kinds() == ["linear", "svm"]
    for argv in (("train", "--models", "linear"), ("data", "synth")):
        refused = _harmone(*argv, "-w", str(trained_workspace.root))
        assert refused.returncode == 1 and f"pid {process.pid}" in refused.stderr, refused.stderr


def test_locks_are_free_again_after_their_holder_is_killed(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(lock.__file__).parent.parent)!r})
        from harmone import lock
        with lock.hold({str(knowledge)!r}, ["manager"], "test"):
            print("held", flush=True)
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    assert lock.holders(knowledge)["manager"].pid == child.pid
    with pytest.raises(WorkspaceError, match=f"pid {child.pid}"):
        with lock.hold(knowledge, ["manager"], "harmone manage"):
            pass
    child.kill()
    child.communicate()
    assert lock.holders(knowledge) == {"inference": None, "manager": None}  # the stale file is not a holder
    with lock.hold(knowledge, ["manager"], "harmone manage"):
        assert lock.holders(knowledge)["manager"].pid == os.getpid()


# -- D1, D8: a locked knowledge base -------------------------------------------------------------

def test_d1_reset_against_a_locked_database_deletes_nothing(trained_workspace: Workspace,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from harmone.mape.state import reset
    from harmone.runner import run_inference

    run_inference(trained_workspace, steps=70)
    monkeypatch.setattr(store_mod, "LOCK_WAIT_S", 0.2)
    other = sqlite3.connect(trained_workspace.db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(WorkspaceError, match="locked"):
            reset(trained_workspace)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert ModelRepository(trained_workspace).trained_kinds() == ["linear", "svm"]
    assert _predictions(trained_workspace) == 70
    report = reset(trained_workspace)
    assert (report.predictions, report.versions) == (70, 2)
    assert ModelRepository(trained_workspace).trained_kinds() == []


def test_d8_a_locked_database_is_one_line_naming_the_holder(trained_workspace: Workspace,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from harmone.cli import main

    monkeypatch.setattr(store_mod, "LOCK_WAIT_S", 0.2)
    other = sqlite3.connect(trained_workspace.db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with lock.hold(trained_workspace.knowledge_dir, [lock.MANAGER], "test"):
            code = main(["infer", "-w", str(trained_workspace.root), "--steps", "100", "--interval", "0",
                         "--quiet"])
    finally:
        other.execute("ROLLBACK")
        other.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert "locked" in err[0] and f"pid {os.getpid()}" in err[0]


# -- D11: a knowledge base that disappears --------------------------------------------------------

def test_d11_a_knowledge_base_deleted_mid_run_is_an_error(trained_workspace: Workspace) -> None:
    from harmone.session import Session

    with pytest.raises(WorkspaceError, match="removed or replaced"):
        with Session(trained_workspace) as session:
            engine = session.start_engine()
            session.drive(10)
            trained_workspace.db_path.unlink()
            session.drive(100)
    assert not engine._buffer or True  # nothing more was written anywhere


# -- D5: predictions and position together ------------------------------------------------------

def test_d5_rows_and_position_commit_together(trained_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from harmone.knowledge import codec
    from harmone.session import Session

    with Session(trained_workspace) as session:
        engine = session.start_engine()
        session.drive(10)
        position = engine.position
        monkeypatch.setattr(codec, "dumps", lambda value: (_ for _ in ()).throw(OSError("disk full")))
        with pytest.raises(OSError):
            session.drive(64)
        monkeypatch.undo()
        with KnowledgeStore(trained_workspace.db_path) as store:
            assert store.count_predictions() == 10
            assert store.get_state("stream_position") == position
        engine._buffer.clear()
        engine.position = position


# -- D3, D4: the retraining child ---------------------------------------------------------------

def _request(workspace: Workspace):
    from harmone.data.series import read_series
    from harmone.mape.execute import RetrainRequest

    values = read_series(workspace.test_path)[:300]
    return RetrainRequest(kind="linear", data=np.asarray(values), reason="periodic", seed=0)


def _finish(job, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = job.poll()
        if result is not None:
            return result
        time.sleep(0.05)
    raise AssertionError("the retraining did not finish")


@pytest.mark.slow
def test_d4_the_child_ignores_a_harmone_package_in_the_current_directory(
        trained_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harmone.mape.execute import SubprocessRetrainer

    evil = tmp_path / "cwd" / "harmone"
    evil.mkdir(parents=True)
    marker = tmp_path / "imported"
    (evil / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(evil.parent)
    result = _finish(SubprocessRetrainer(trained_workspace).submit(_request(trained_workspace)))
    assert not marker.exists()
    assert result.version == 2


@pytest.mark.slow
def test_d3_only_the_manager_promotes(trained_workspace: Workspace) -> None:
    from harmone.mape.execute import SubprocessRetrainer

    repository = ModelRepository(trained_workspace)
    job = SubprocessRetrainer(trained_workspace).submit(_request(trained_workspace))
    while job._process is not None and job._process.poll() is None:
        time.sleep(0.05)
    assert repository.versions("linear") == [1, 2]
    assert repository.active_version("linear") == 1  # the child stored, did not promote
    result = _finish(job)
    assert result.promoted and repository.active_version("linear") == 2
    assert not list(trained_workspace.knowledge_dir.glob(".retrain-*"))


@pytest.mark.slow
def test_d3_the_child_dies_with_its_manager(trained_workspace: Workspace, tmp_path: Path) -> None:
    manager = textwrap.dedent(f"""
        import sys, time
        import numpy as np
        from harmone.mape.execute import RetrainRequest, SubprocessRetrainer
        from harmone.workspace import Workspace
        job = SubprocessRetrainer(Workspace.open({str(trained_workspace.root)!r})).submit(
            RetrainRequest(kind="lstm", data=np.linspace(100, 400, 3000), reason="periodic", seed=0))
        print(job.pid, flush=True)
        time.sleep(120)
    """)
    process = subprocess.Popen([sys.executable, "-c", manager], stdout=subprocess.PIPE, text=True, env=os.environ)
    assert process.stdout is not None
    child = int(process.stdout.readline())
    process.kill()
    process.communicate()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def test_d3_the_child_dies_with_its_manager_even_inside_a_long_call(tmp_path: Path) -> None:
    """A child busy in one long call that holds the GIL (a numpy or torch kernel) still ends at once."""
    child_code = ("import sys; from harmone.mape.retrain_job import _watch_parent; _watch_parent(int(sys.argv[1]));"
                  " print('armed', flush=True); sum(range(10**11))")
    manager = textwrap.dedent(f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", {child_code!r}, str(os.getpid())], stdout=subprocess.PIPE,
                                 text=True)
        child.stdout.readline()
        print(child.pid, flush=True)
        time.sleep(120)
    """)
    process = subprocess.Popen([sys.executable, "-c", manager], stdout=subprocess.PIPE, text=True, env=os.environ)
    assert process.stdout is not None
    child = int(process.stdout.readline())
    time.sleep(0.2)
    try:
        assert _alive(child)
        process.kill()
        killed = time.monotonic()
        while time.monotonic() - killed < 5 and not process_stopped(child):
            time.sleep(0.001)
        assert time.monotonic() - killed < 0.1  # docs/reliability.md: stopped within 0.1 s of the manager's kill
    finally:
        process.kill()
        process.communicate()
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def test_d3_a_restarted_manager_records_what_its_predecessor_left(trained_workspace: Workspace) -> None:
    from harmone.approaches import get_approach
    from harmone.mape.execute import InlineRetrainer, retrain_version
    from harmone.session import Session

    config = trained_workspace.config
    repository = ModelRepository(trained_workspace)
    request = _request(trained_workspace)
    unpromoted = retrain_version(trained_workspace, request, config, promote=False)  # killed before promoting
    promoted = retrain_version(trained_workspace, request, config)                     # killed before recording
    scratch = trained_workspace.knowledge_dir / ".retrain-left"
    scratch.mkdir()
    (scratch / "data.json").write_text("{}")
    seen = []
    with Session(trained_workspace) as session:
        session.start_manager(get_approach("harmone"), retrainer=InlineRetrainer(trained_workspace, config),
                              on_event=seen.append)
        events = session.store.events()
    assert not scratch.exists()
    recovered = {e.observed["new_version"]: e for e in events if e.decision is Decision.RECOVERED}
    assert set(recovered) == {unpromoted.version, promoted.version}
    assert recovered[promoted.version].outcome is Outcome.PROMOTED
    assert recovered[unpromoted.version].outcome is Outcome.KEPT_SERVING
    assert repository.active_version("linear") == promoted.version
    assert [e.id for e in seen] == [e.id for e in recovered.values()]
    from harmone.cli.manage_cmds import format_event
    from harmone.knowledge.events import count_events
    from harmone.report.words import words

    said = words(trained_workspace.config.task)
    assert all(format_event(e, said) for e in seen) and count_events(seen).retrains == 2
    with Session(trained_workspace) as session:  # recorded once: a second restart adds nothing
        session.start_manager(get_approach("harmone"), retrainer=InlineRetrainer(trained_workspace, config))
        assert session.store.event_count() == len(events)


def test_d3_an_interrupted_retraining_is_recorded_as_discarded(trained_workspace: Workspace) -> None:
    from harmone.cli.manage_cmds import format_event
    from harmone.mape.recovery import recover
    from harmone.report.words import words

    (trained_workspace.knowledge_dir / ".retrain-x").mkdir()
    with KnowledgeStore(trained_workspace.db_path) as store:
        events = recover(trained_workspace, store, now=5.0)
    assert [(e.decision, e.outcome) for e in events] == [(Decision.RECOVERED, Outcome.FAILED)]
    assert "discarded" in format_event(events[0], words(trained_workspace.config.task)) or events[0].observed["error"]
    assert not list(trained_workspace.knowledge_dir.glob(".retrain-*"))


# -- D10: retraining on unchanged data, and retention ----------------------------------------------

def test_d10_periodic_retraining_skips_when_no_value_arrived(trained_workspace: Workspace) -> None:
    from harmone.knowledge import LoopName
    from harmone.mape.execute import InlineRetrainer
    from harmone.mape.retrain_loop import RetrainLoop
    from harmone.runner import run_inference

    run_inference(trained_workspace, steps=1600)
    config = trained_workspace.config
    with KnowledgeStore(trained_workspace.db_path) as store:
        loop = RetrainLoop(workspace=trained_workspace, store=store, meter=_meter(), config=config, now=0.0,
                           retrainer=InlineRetrainer(trained_workspace, config))
        first = loop.run(config.retrain.interval_s)
        second = loop.run(2 * config.retrain.interval_s)
    assert first.loop is LoopName.RETRAIN and first.outcome is Outcome.PROMOTED
    assert second.decision is Decision.NO_NEW_DATA
    assert ModelRepository(trained_workspace).versions("linear") == [1, 2]


def _meter():
    from harmone.energy.fake import FakeMeter

    return FakeMeter()


def test_d10_pruning_keeps_the_newest_and_the_active(trained_workspace: Workspace) -> None:
    from harmone.mape.execute import finish_promotion, retrain_version

    config = trained_workspace.config
    repository = ModelRepository(trained_workspace)
    request = _request(trained_workspace)
    for _ in range(5):
        retrain_version(trained_workspace, request, config, promote=False)
    repository.promote("linear", 2)
    assert repository.prune("linear", 2) == [1, 3, 4]
    assert repository.versions("linear") == [2, 5, 6]
    assert not [p for p in (trained_workspace.versions_dir / "linear").iterdir() if p.name.startswith(".")]
    finish_promotion(trained_workspace, config.replace(repository=type(config.repository)(keep_versions=1)),
                     "linear", 6)
    assert repository.versions("linear") == [6]
    assert repository.load_active("linear").version == 6


def test_keep_versions_is_a_checked_setting(trained_workspace: Workspace) -> None:
    from harmone import config as config_mod
    from harmone.errors import ConfigError

    assert "[repository]" in config_mod.render() and trained_workspace.config.repository.keep_versions == 50
    with pytest.raises(ConfigError, match="keep_versions"):
        config_mod.from_mapping({"repository": {"keep_versions": 0}})


# -- D11: links and names never lead outside the workspace ------------------------------------------

def test_d11_a_version_link_outside_the_workspace_is_refused(trained_workspace: Workspace, tmp_path: Path) -> None:
    import shutil

    from harmone.errors import ModelError

    outside = tmp_path / "outside"
    shutil.copytree(trained_workspace.version_dir("linear", 1), outside)
    os.symlink(outside, trained_workspace.version_dir("linear", 2))
    repository = ModelRepository(trained_workspace)
    with pytest.raises(ModelError, match="outside the workspace"):
        repository.load("linear", 2)


@pytest.mark.parametrize("name", ["../../etc", "linear/../../x", "/etc/passwd", "a b"])
def test_d11_model_csv_names_are_plain(trained_workspace: Workspace, name: str) -> None:
    trained_workspace.model_switch_path.write_text(name + "\n")
    with pytest.raises(HarmonEError, match="unknown model"):
        trained_workspace.read_active_model()


# -- D9: what a printed prediction means ---------------------------------------------------------

def test_d9_infer_states_the_batch_size_and_counts_stored_rows(trained_workspace: Workspace,
                                                               capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from harmone.cli import main

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["infer", "-w", str(trained_workspace.root), "--steps", "3", "--interval", "0"]) == 0
    out = capsys.readouterr().out
    assert f"stored {trained_workspace.config.stream.flush_rows} at a time" in out
    assert "3 predictions stored" in out
    assert _predictions(trained_workspace) == 3


def test_the_retraining_result_file_is_json(trained_workspace: Workspace, tmp_path: Path) -> None:
    """The child's command is isolated (-I) yet runs this very package."""
    from harmone.mape.execute import child_command

    data = tmp_path / "data.json"
    data.write_text(json.dumps({"values": list(np.linspace(100, 300, 300))}))
    result = tmp_path / "result.json"
    done = subprocess.run([*child_command(), "--workspace", str(trained_workspace.root), "--kind", "linear",
                           "--reason", "periodic", "--data", str(data), "--result", str(result)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "-I" in child_command()
    assert json.loads(result.read_text())["version"] == 2
    assert ModelRepository(trained_workspace).active_version("linear") == 1


def test_a_signal_inside_the_stop_flags_own_wait_does_not_deadlock() -> None:
    """The manager sleeps in ``stop.wait``; a SIGTERM landing while it holds the flag's lock once hung it."""
    import threading

    from harmone.session import _stop_on_signals

    stop = threading.Event()
    restore = _stop_on_signals(stop)
    try:
        with stop._cond:  # where Event.wait holds it
            signal.raise_signal(signal.SIGTERM)
        assert stop.wait(5)
    finally:
        restore()


def test_status_names_what_runs_on_the_workspace(tmp_path: Path) -> None:
    from harmone import lock
    from harmone.status import read_status
    from harmone.testing import small_workspace

    workspace = small_workspace(tmp_path / "ws")
    assert read_status(workspace).running == {"inference": None, "manager": None}
    with lock.hold(workspace.knowledge_dir, [lock.INFERENCE], "harmone infer"):
        running = read_status(workspace).running
    assert running["manager"] is None and f"(pid {os.getpid()})" in (running["inference"] or "")
