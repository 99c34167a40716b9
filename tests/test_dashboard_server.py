"""The dashboard server as a client sees it: who gets in, what every endpoint answers, the pushed
stream and the Prometheus text."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_helpers import Client, served_workspace
from prometheus_client.parser import text_string_to_metric_families

from harmone.dashboard import Dashboard
from harmone.knowledge import Decision, KnowledgeStore, LoopName
from harmone.knowledge.loop_state import RetrainLoopState
from harmone.repository import ModelRepository
from harmone.workspace import Workspace


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, Client]]:
    workspace = served_workspace(tmp_path_factory.mktemp("dash") / "ws")
    dashboard = Dashboard(workspace).start()
    client = Client(dashboard.port)
    client.login(dashboard.guard.token or "")
    yield dashboard, client
    dashboard.close()


def test_without_the_cookie_nothing_is_served(served: tuple[Dashboard, Client]) -> None:
    dashboard, _ = served
    stranger = Client(dashboard.port)
    for path in ("/", "/static/app.js", "/api/live", "/api/models", "/metrics", "/api/stream"):
        status, _, body = stranger.request("GET", path)
        assert status == 401, path
        assert b"harmone dashboard" in body


def test_the_token_opens_one_session_only(tmp_path: Path) -> None:
    from conftest import make_workspace

    dashboard = Dashboard(make_workspace(tmp_path / "ws")).start()
    try:
        client = Client(dashboard.port)
        token = dashboard.guard.token or ""
        assert client.request("GET", "/?token=wrong")[0] == 403
        status, headers, _ = client.request("GET", f"/?token={token}")
        assert status == 303 and headers["location"] == "/"
        cookie = headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert client.request("GET", f"/?token={token}")[0] == 403  # reused
        client.cookie = cookie.split(";")[0]
        assert client.request("GET", "/")[0] == 200
        client.cookie = "harmone_session=made-up"
        assert client.request("GET", "/")[0] == 401
    finally:
        dashboard.close()


def test_a_foreign_host_header_is_refused(served: tuple[Dashboard, Client]) -> None:
    dashboard, client = served
    for host in ("evil.example:80", f"evil.example:{dashboard.port}", "127.0.0.1:1"):
        other = Client(dashboard.port, host=host)
        other.cookie = client.cookie
        assert other.request("GET", "/api/live")[0] == 403, host
    local = Client(dashboard.port, host=f"localhost:{dashboard.port}")
    local.cookie = client.cookie
    assert local.request("GET", "/api/live")[0] == 200


def test_the_page_allows_only_its_own_scripts(served: tuple[Dashboard, Client]) -> None:
    _, client = served
    status, headers, body = client.request("GET", "/")
    assert status == 200 and b'src="/static/app.js"' in body
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    status, headers, body = client.request("GET", "/static/vendor/uPlot.esm.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript") and b"uPlot" in body
    for path in ("/static/../server.py", "/static/%2e%2e/server.py", "/static/vendor/uPlot.LICENSE"):
        assert client.request("GET", path)[0] == 404, path


def test_every_read_endpoint_answers(served: tuple[Dashboard, Client]) -> None:
    dashboard, client = served
    live = client.get_json("/api/live")
    assert live["last_row_id"] == 200 and len(live["rows"]["id"]) == 200
    assert live["rows"]["r2"][-1] is not None and live["rows"]["skill"][-1] is not None
    assert [m["kind"] for m in live["markers"]] == ["reuse"] and live["markers"][0]["row"] == 180
    assert set(live["energy"]) == {"linear"} and live["meter"]["kind"] in ("measured", "estimated")
    assert len(live["overview"]["id"]) == 200
    newer = client.get_json("/api/live?after=150&after_event=2")
    assert newer["rows"]["id"][0] == 151 and newer["markers"] == [] and newer["overview"] is None

    decisions = client.get_json("/api/decisions")
    assert [e["decision"] for e in decisions["events"]] == ["reuse", "no-drift"]
    assert decisions["events"][0]["seen"]["version_kl"] == 0.1
    assert [e["id"] for e in client.get_json("/api/decisions?decision=no-drift")["events"]] == [1]
    assert client.get_json("/api/decisions?loop=switch")["events"] == []
    assert [e["id"] for e in client.get_json("/api/decisions?before=2")["events"]] == [1]

    models = client.get_json("/api/models")
    linear = models["kinds"][0]
    assert linear["kind"] == "linear" and linear["active_version"] == 2 and linear["serving"]
    assert [v["version"] for v in linear["versions"]] == [1, 2]
    assert "holdout_r2" in linear["versions"][0]["metrics"] and linear["versions"][0]["data"]["n"] > 0

    approach = client.get_json("/api/approach")
    assert approach["approach"] == "harmone" and "switch" in approach["loops"]
    assert "single-linear" in [a["name"] for a in approach["approaches"]]
    assert client.get_json("/api/config")["text"] == dashboard.workspace.config_path.read_text(encoding="utf-8")

    experiments = client.get_json("/api/experiments")["experiments"]
    assert experiments[0]["name"] == "experiment/first" and experiments[0]["plots"] == ["energy_vs_r2.png"]
    status, headers, body = client.request("GET", "/api/experiments/file?name=experiment/first&file=energy_vs_r2.png")
    assert status == 200 and headers["content-type"] == "image/png" and body.startswith(b"\x89PNG")
    assert client.request("GET", "/api/experiments/file?name=experiment/first&file=../results.json")[0] == 404
    assert client.request("GET", "/api/experiments/file?name=..&file=harmone.toml")[0] == 404
    assert [r["command"] for r in client.get_json("/api/runs")["runs"]] == ["infer", "manage"]
    assert client.request("GET", "/api/nothing")[0] == 404


def test_changes_need_the_csrf_token_and_are_recorded(served: tuple[Dashboard, Client]) -> None:
    dashboard, client = served
    workspace = dashboard.workspace
    assert client.request("POST", "/api/approach", {"name": "switch"}, {"X-CSRF-Token": "wrong"})[0] == 403
    assert client.request("POST", "/api/approach", {"name": "switch"},
                          {"Origin": "http://evil.example"})[0] == 403
    stranger = Client(dashboard.port)
    assert stranger.request("POST", "/api/approach", {"name": "switch"})[0] == 401
    status, _, body = client.request("POST", "/api/approach", {"name": "no-such"})
    assert status == 400 and b"no-such" in body

    assert client.get_json("/api/approach")["approach"] == "harmone"
    status, _, body = client.request("POST", "/api/approach", {"name": "switch"})
    assert status == 200 and client.get_json("/api/approach")["approach"] == "switch"

    status, _, body = client.request("POST", "/api/models/promote", {"kind": "linear", "version": 1})
    assert status == 200 and json.loads(body)["action"] == "rollback"
    assert ModelRepository(Workspace(workspace.root)).active_version("linear") == 1
    assert client.request("POST", "/api/models/promote", {"kind": "linear", "version": 9})[0] == 400

    with KnowledgeStore.open_readonly(workspace.db_path) as store:
        operator = [e for e in store.events() if e.decision is Decision.OPERATOR]
        assert all(e.loop is LoopName.OPERATOR for e in operator)
    assert [(e.observed["operator"], e.model, e.version) for e in operator] == [
        ("approach", None, None), ("rollback", "linear", 1)]
    assert operator[0].figures is None


def test_the_configuration_is_checked_and_shown_as_a_diff_before_saving(served: tuple[Dashboard, Client]) -> None:
    dashboard, client = served
    path = dashboard.workspace.config_path
    original = path.read_text(encoding="utf-8")
    bad = original.replace("interval_s = 0.15", "interval_s = -1")
    status, _, body = client.request("POST", "/api/config/check", {"text": bad})
    assert status == 400 and b"interval_s" in body
    status, _, body = client.request("POST", "/api/config/check", {"text": "[stream\n"})
    assert status == 400 and b"not valid TOML" in body
    edited = original.replace("interval_s = 0.15", "interval_s = 0.05")
    checked = json.loads(client.request("POST", "/api/config/check", {"text": edited})[2])
    assert "-interval_s = 0.15" in checked["diff"] and "+interval_s = 0.05" in checked["diff"]
    assert path.read_text(encoding="utf-8") == original  # checking saves nothing
    status, _, body = client.request("POST", "/api/config/save", {"text": edited, "base": "stale"})
    assert status == 400 and b"changed on disk" in body
    status, _, _ = client.request("POST", "/api/config/save", {"text": edited, "base": original})
    assert status == 200 and path.read_text(encoding="utf-8") == edited
    client.request("POST", "/api/config/save", {"text": original, "base": edited})


def test_run_control_accepts_only_its_commands_and_numbers(served: tuple[Dashboard, Client]) -> None:
    _, client = served
    for body in ({"command": "rm"}, {"command": "infer", "interval": "1; rm"}, {"command": "infer", "steps": -1},
                 {"command": "infer", "steps": 1.5}):
        assert client.request("POST", "/api/runs/start", body)[0] == 400, body
    assert client.request("POST", "/api/runs/stop", {"command": "manage"})[0] == 400
    assert client.request("POST", "/api/upload", {"code": "print(1)"})[0] == 404


def _read_event(response: http.client.HTTPResponse, deadline: float) -> dict[str, str]:
    fields: dict[str, str] = {}
    while time.monotonic() < deadline:
        line = response.fp.readline().decode().rstrip("\n")
        if not line:
            if "data" in fields:
                return fields
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(": ")
        fields[name] = value
    raise AssertionError("no event in time")


def _open_stream(port: int, cookie: str, resume: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/api/stream", headers={"Host": f"127.0.0.1:{port}", "Cookie": cookie,
                                                      "Last-Event-ID": resume})
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
    return response


def test_the_stream_pushes_a_logged_batch_within_a_second_and_resumes(served: tuple[Dashboard, Client]) -> None:
    dashboard, client = served
    live = client.get_json("/api/live")
    resume = f"{live['last_row_id']}:{live['last_event_id']}"
    response = _open_stream(dashboard.port, client.cookie or "", resume)
    with KnowledgeStore(dashboard.workspace.db_path) as store:
        first = store.last_row_id()
        logged = time.monotonic()
        store.append_predictions([(0.0, 100.0 + i, 101.0 + i, "linear", 1, 1e-5, 3.0) for i in range(5)])
        event = _read_event(response, logged + 1.0)
        assert time.monotonic() - logged < 1.0
        data = json.loads(event["data"])
        assert data["rows"]["id"] == list(range(first + 1, first + 6)) and event["id"].startswith(f"{first + 5}:")
        response.close()
        store.append_predictions([(0.0, 1.0, 1.0, "linear", 1, 1e-5, 3.0)] * 3)
    again = _open_stream(dashboard.port, client.cookie or "", event["id"])  # what a browser sends on reconnect
    data = json.loads(_read_event(again, time.monotonic() + 2.0)["data"])
    assert data["rows"]["id"] == [first + 6, first + 7, first + 8]
    again.close()


def test_metrics_are_prometheus_text_counted_incrementally(served: tuple[Dashboard, Client]) -> None:
    dashboard, client = served

    def scrape(who: Client, headers: dict[str, str] | None = None) -> dict[str, dict[tuple[str, ...], float]]:
        status, _, body = who.request("GET", "/metrics", headers=headers)
        assert status == 200
        found: dict[str, dict[tuple[str, ...], float]] = {}
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
        return found

    before = scrape(client)
    with KnowledgeStore.open_readonly(dashboard.workspace.db_path) as store:
        count = store.count_predictions()
    assert sum(before["harmone_predictions_total"].values()) == count
    assert before["harmone_decisions_total"][(("decision", "reuse"), ("loop", "drift"))] == 1
    assert "harmone_rolling_r2" in before and "harmone_active_model" in before
    assert "harmone_loop_last_run_seconds" not in before  # no loop has run in this workspace
    with KnowledgeStore(dashboard.workspace.db_path) as store:
        store.append_predictions([(0.0, 1.0, 1.0, "svm", 1, 1e-5, 7.0)] * 4)
        store.save_loop_state(RetrainLoopState(next_due_s=500.0, last_run_s=0.0125))
    after = scrape(Client(dashboard.port), {"Authorization": f"Bearer {dashboard.metrics_token}"})
    assert after["harmone_loop_last_run_seconds"] == {(("loop", "retrain"),): 0.0125}
    assert after["harmone_predictions_total"][(("model", "svm"),)] == 4
    assert after["harmone_prediction_energy_microjoules_total"][(("model", "svm"),)] == 28.0
    assert Client(dashboard.port).request("GET", "/metrics", headers={"Authorization": "Bearer wrong"})[0] == 401


def test_the_command_serves_on_loopback_and_prints_a_one_time_link(tmp_path: Path) -> None:
    import os
    import re
    import signal
    import subprocess
    import sys

    from conftest import make_workspace

    from harmone.cli import main

    workspace = make_workspace(tmp_path / "ws")
    assert main(["dashboard", "-w", str(workspace.root), "--host", "0.0.0.0"]) != 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen([sys.executable, "-m", "harmone", "dashboard", "-w", str(workspace.root), "--port", "0"],
                               stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        link = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", "".join(lines))
        assert link is not None, lines
        client = Client(int(link.group(1)))
        client.login(link.group(2))
        assert client.request("GET", "/api/models")[0] == 200
        assert (workspace.knowledge_dir / "dashboard-metrics.token").stat().st_mode & 0o077 == 0
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0


def test_manage_is_started_and_stopped_as_a_child_process(served: tuple[Dashboard, Client]) -> None:
    dashboard, client = served
    status, _, body = client.request("POST", "/api/runs/start", {"command": "manage"})
    started = json.loads(body)
    assert status == 200 and started["running"] and started["args"][:1] == ["manage"]
    assert client.request("POST", "/api/runs/start", {"command": "manage"})[0] == 400  # one at a time
    status, _, body = client.request("POST", "/api/runs/stop", {"command": "manage"})
    stopped = json.loads(body)
    assert status == 200 and not stopped["running"] and stopped["exit_code"] is not None
    with KnowledgeStore.open_readonly(dashboard.workspace.db_path) as store:
        operator = [e.observed for e in store.events() if e.decision is Decision.OPERATOR]
    assert [o["operator"] for o in operator[-2:]] == ["start-manage", "stop-manage"]
    assert operator[-2]["pid"] == started["pid"]
