"""Run control: `infer` and `manage` started from the page as real child processes, from a relative
workspace path, from the start of the stream, at a time scale, and never running code from the
workspace."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_helpers import client
from starlette.testclient import TestClient

from harmone import lifecycle
from harmone.dashboard import Dashboard
from harmone.dashboard.runs import RunControl, RunError
from harmone.knowledge import Decision, KnowledgeStore
from harmone.workspace import Workspace

pytestmark = pytest.mark.slow


@pytest.fixture
def relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Dashboard, TestClient]]:
    """A dashboard started as `cd DIR && harmone dashboard -w ws` (the path the README uses)."""
    from conftest import make_workspace

    trained = make_workspace(tmp_path / "ws", n=1200)
    lifecycle.train_initial(trained, ["linear"])
    trained.write_active_model("linear")
    monkeypatch.chdir(tmp_path)
    dashboard = Dashboard(Workspace.open(Path("ws")))
    yield dashboard, client(dashboard)
    dashboard.close()


def _finished(browser: TestClient, command: str, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = next(r for r in browser.get("/api/runs").json()["runs"] if r["command"] == command)
        if not run["running"]:
            return run
        time.sleep(0.1)
    raise AssertionError(f"{command} still running")


def _operator(workspace: Workspace) -> list[str]:
    with KnowledgeStore.open_readonly(workspace.db_path) as store:
        return [e.observed["operator"] for e in store.events() if e.decision is Decision.OPERATOR]


def _rows(workspace: Workspace) -> int:
    with KnowledgeStore.open_readonly(workspace.db_path) as store:
        return store.last_row_id()


def test_infer_runs_from_a_relative_workspace_path_and_from_the_start_once_the_stream_ended(
        relative: tuple[Dashboard, TestClient]) -> None:
    dashboard, browser = relative
    answer = browser.post("/api/runs/start", json={"command": "infer", "interval": 0})
    assert answer.status_code == 200, answer.text
    run = _finished(browser, "infer")
    assert run["exit_code"] == 0, run["output"]  # not "/…/ws/ws: not a HarmonE workspace"
    assert str(dashboard.workspace.root.resolve()) in run["args"]
    stream_length = _rows(dashboard.workspace)
    assert stream_length > 0

    answer = browser.post("/api/runs/start", json={"command": "infer", "interval": 0})  # the stream has ended
    assert answer.status_code == 400 and "end of the test stream" in answer.json()["error"]
    assert _operator(dashboard.workspace) == ["start-infer"]  # the failed start is not recorded as started

    answer = browser.post("/api/runs/start", json={"command": "infer", "interval": 0, "steps": 7, "from_start": True})
    assert answer.status_code == 200, answer.text
    assert _finished(browser, "infer")["exit_code"] == 0
    assert _rows(dashboard.workspace) == stream_length + 7


def test_manage_follows_the_time_scale_of_inference_and_is_stopped_from_the_page(
        relative: tuple[Dashboard, TestClient]) -> None:
    dashboard, browser = relative
    infer = browser.post("/api/runs/start", json={"command": "infer", "interval": 0.05, "time_scale": 20})
    assert infer.status_code == 200 and infer.json()["running"], infer.text
    assert infer.json()["args"][-2:] == ["--time-scale", "20.0"]
    manage = browser.post("/api/runs/start", json={"command": "manage"})
    assert manage.status_code == 200 and manage.json()["running"], manage.text
    assert manage.json()["args"][-2:] == ["--time-scale", "20.0"] and manage.json()["time_scale"] == 20.0
    assert browser.post("/api/runs/start", json={"command": "manage"}).status_code == 400  # one at a time
    approach = browser.get("/api/approach").json()
    assert approach["time_scale"] == 20.0 and approach["manager"] is not None
    for command in ("manage", "infer"):
        stopped = browser.post("/api/runs/stop", json={"command": command})
        assert stopped.status_code == 200 and not stopped.json()["running"]
    assert _operator(dashboard.workspace) == ["start-infer", "start-manage", "stop-manage", "stop-infer"]


def test_nothing_in_the_workspace_runs_in_the_children(tmp_path: Path) -> None:
    """A numpy.py and a harmone/ package placed in the workspace stay inert (issue: workspace code ran)."""
    from conftest import make_workspace

    workspace = make_workspace(tmp_path / "ws", n=1200)
    lifecycle.train_initial(workspace, ["linear"])
    workspace.write_active_model("linear")
    marker = tmp_path / "ran"
    planted = f"import pathlib; pathlib.Path({str(marker)!r}).write_text(__name__)\n"
    (workspace.root / "numpy.py").write_text(planted)
    (workspace.root / "harmone").mkdir()
    (workspace.root / "harmone" / "__init__.py").write_text(planted)
    (workspace.root / "harmone" / "__main__.py").write_text(planted)
    runs = RunControl(workspace.root)
    try:
        runs.start("infer", {"interval": 0, "steps": 5})
        deadline = time.monotonic() + 60
        while runs.describe("infer")["running"] and time.monotonic() < deadline:
            time.sleep(0.1)
        described = runs.describe("infer")
    finally:
        runs.close()
    assert described["exit_code"] == 0, described["output"]
    assert "predictions stored" in described["output"]  # the real HarmonE ran
    assert not marker.exists(), f"workspace code ran: {marker.read_text()}"
    assert _rows(workspace) == 5


def test_arguments_are_built_from_checked_options_only(tmp_path: Path) -> None:
    runs = RunControl(tmp_path)
    root = str(tmp_path.resolve())
    assert runs.arguments("infer", {"interval": 0.5, "steps": 3, "from_start": True, "time_scale": 2}) == [
        "infer", "-w", root, "--quiet", "--interval", "0.5", "--steps", "3", "--from-start", "--time-scale", "2.0"]
    assert runs.arguments("infer", {"from_start": False, "steps": None}) == ["infer", "-w", root, "--quiet"]
    assert runs.arguments("manage", {"time_scale": 0.5}) == ["manage", "-w", root, "--time-scale", "0.5"]
    for command, options in (("manage", {"from_start": True}), ("infer", {"time_scale": -1}),
                             ("infer", {"interval": float("nan")}), ("infer", {"steps": True}), ("sh", {})):
        with pytest.raises(RunError):
            runs.arguments(command, options)
    assert os.path.isabs(runs.root)
