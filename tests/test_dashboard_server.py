"""The dashboard as a client sees it, in memory (Starlette's test client): who gets in, what every
endpoint answers, that every request gets an answer with the security headers, the pushed
stream and the Prometheus text. One test serves it for real, through the command."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dashboard_helpers import client, served_workspace, sign_in
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from harmone.dashboard import Dashboard
from harmone.dashboard.middleware import SECURITY_HEADERS
from harmone.knowledge import Decision, KnowledgeStore, LoopName
from harmone.knowledge.loop_state import RetrainLoopState
from harmone.repository import ModelRepository
from harmone.workspace import Workspace


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, TestClient]]:
    workspace = served_workspace(tmp_path_factory.mktemp("dash") / "ws")
    dashboard = Dashboard(workspace)
    yield dashboard, client(dashboard)
    dashboard.close()


def _secured(answer: httpx.Response) -> bool:
    return all(answer.headers.get(name) == value for name, value in SECURITY_HEADERS.items())


# -- who gets in ----------------------------------------------------------------------------------

def test_without_the_cookie_nothing_is_served(served: tuple[Dashboard, TestClient]) -> None:
    dashboard, _ = served
    stranger = client(dashboard, login=False)
    for path in ("/", "/static/app.js", "/api/live", "/api/models", "/metrics", "/api/stream", "/api/history"):
        answer = stranger.get(path)
        assert answer.status_code == 401, path
        assert "harmone dashboard" in answer.text and _secured(answer)
    assert stranger.get("/").headers["content-type"].startswith("text/html")  # a page a person reads
    assert stranger.post("/api/approach", json={"name": "switch"}).status_code == 401
    assert stranger.options("/api/approach").status_code == 401


def test_the_token_opens_one_session_only_and_the_link_again_leads_to_the_page(tmp_path: Path) -> None:
    from conftest import make_workspace

    dashboard = Dashboard(make_workspace(tmp_path / "ws"))
    browser = client(dashboard, login=False)
    token = dashboard.guard.token or ""
    assert browser.get("/?token=wrong").status_code == 403
    answer = browser.get(f"/?token={token}")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"harmone_session_{dashboard.port}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert browser.get("/").status_code == 200
    again = browser.get(f"/?token={token}")  # the printed link, opened again in the same browser
    assert again.status_code == 303 and again.headers["location"] == "/"
    other = client(dashboard, login=False)
    refused = other.get(f"/?token={token}")  # used up: refused, as a page
    assert refused.status_code == 403 and "already used" in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    other.cookies.set(f"harmone_session_{dashboard.port}", "made-up")
    assert other.get("/").status_code == 401


def test_two_dashboards_in_one_browser_keep_their_own_sessions(tmp_path: Path) -> None:
    """Browsers send every cookie of 127.0.0.1 to every port: each dashboard names its cookie after its port."""
    from conftest import make_workspace

    first = Dashboard(make_workspace(tmp_path / "a"), port=8765)
    second = Dashboard(make_workspace(tmp_path / "b"), port=8766)
    jar: dict[str, str] = {}  # the browser's cookies for 127.0.0.1, by name (a new one replaces an old one)
    browsers = []
    for dashboard in (first, second):
        browser = client(dashboard, login=False)
        for name, value in jar.items():
            browser.cookies.set(name, value)
        sign_in(browser, dashboard.guard.token or "")
        jar.update(browser.cookies.items())
        browsers.append(browser)
    assert sorted(jar) == ["harmone_session_8765", "harmone_session_8766"]
    for browser in browsers:  # signing in to the second did not sign the first out
        for name, value in jar.items():
            browser.cookies.set(name, value)
        assert browser.get("/api/session").status_code == 200
    replay = client(first, login=False)  # the other dashboard's session is not this one's
    replay.cookies.set("harmone_session_8765", jar["harmone_session_8766"])
    assert replay.get("/api/session").status_code == 401


def test_a_foreign_host_header_is_refused(served: tuple[Dashboard, TestClient]) -> None:
    dashboard, browser = served
    for host in ("evil.example:80", f"evil.example:{dashboard.port}", "127.0.0.1:1"):
        answer = browser.get("/api/live", headers={"Host": host})
        assert answer.status_code == 403 and _secured(answer), host
    assert browser.get("/api/live", headers={"Host": f"localhost:{dashboard.port}"}).status_code == 200


def test_changes_need_the_csrf_token_a_local_origin_and_json(served: tuple[Dashboard, TestClient]) -> None:
    dashboard, browser = served
    assert browser.post("/api/approach", json={"name": "switch"}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert browser.post("/api/approach", json={"name": "switch"},
                        headers={"Origin": "http://evil.example"}).status_code == 403
    assert browser.post("/api/approach", content=b"name=switch",
                        headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 415
    assert browser.post("/api/approach", content=b"x" * (600 * 1024),
                        headers={"Content-Type": "application/json"}).status_code == 413
    as_json = {"Content-Type": "application/json"}
    assert browser.post("/api/approach", content=b"[1]", headers=as_json).status_code == 400
    with KnowledgeStore.open_readonly(dashboard.workspace.db_path) as store:
        assert not [e for e in store.events() if e.decision is Decision.OPERATOR]


def test_the_page_allows_only_its_own_scripts_and_no_path_leaves_the_static_folder(
        served: tuple[Dashboard, TestClient]) -> None:
    _, browser = served
    answer = browser.get("/")
    assert answer.status_code == 200 and 'src="/static/app.js"' in answer.text
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    answer = browser.get("/static/vendor/uPlot.esm.js")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/javascript")
    for path in ("/static/../server.py", "/static/%2e%2e/server.py", "/static/%2e%2e/%2e%2e/config.py",
                 "/static/vendor/uPlot.LICENSE", "/static//etc/passwd", "/static/" + "a" * 5000 + ".js"):
        answer = browser.get(path)
        assert answer.status_code == 404 and _secured(answer), path[:40]


# -- every request gets an answer ------------------------------------------------------------------

def test_out_of_range_numbers_and_bad_text_get_a_400_not_a_dropped_connection(
        served: tuple[Dashboard, TestClient]) -> None:
    """Each of these once raised inside the server and left the browser without an answer."""
    _, browser = served
    huge = "99999999999999999999999"
    for path in (f"/api/live?after={huge}", f"/api/live?after_event={huge}", f"/api/decisions?before={huge}",
                 "/api/live?after=-1", "/api/live?after=1e3", f"/api/history?first={huge}",
                 "/api/history?points=5"):
        answer = browser.get(path)
        assert answer.status_code == 400 and _secured(answer), path
        assert "must be a whole number" in answer.json()["error"]
    answer = browser.get("/api/stream", headers={"Last-Event-ID": f"{huge}:x"})
    assert answer.status_code == 400
    answer = browser.post("/api/config/check", content=b'{"text": "\\ud800"}',
                          headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "not valid Unicode" in answer.json()["error"]


def test_head_options_and_other_methods_are_answered_with_the_security_headers(
        served: tuple[Dashboard, TestClient]) -> None:
    _, browser = served
    head = browser.head("/api/models")
    assert head.status_code == 200 and head.content == b"" and _secured(head)
    assert browser.head("/api/stream").status_code == 200
    options = browser.options("/api/approach")
    assert options.status_code == 204 and options.headers["allow"] == "GET, HEAD, OPTIONS, POST" and _secured(options)
    assert browser.options("/api/live").headers["allow"] == "GET, HEAD, OPTIONS"
    assert browser.options("/api/nothing").status_code == 404
    for method in ("PUT", "DELETE", "PATCH"):
        answer = browser.request(method, "/api/approach")
        assert answer.status_code == 405 and _secured(answer), method
    assert browser.get("/api/nothing").status_code == 404


def test_a_failing_view_answers_500_with_the_headers(served: tuple[Dashboard, TestClient],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import harmone.dashboard.views as views

    _, browser = served
    monkeypatch.setattr(views, "experiments", lambda workspace: 1 / 0)
    answer = browser.get("/api/experiments")
    assert answer.status_code == 500 and "ZeroDivisionError" in answer.json()["error"] and _secured(answer)


# -- what the endpoints answer ---------------------------------------------------------------------

def test_every_read_endpoint_answers(served: tuple[Dashboard, TestClient]) -> None:
    dashboard, browser = served
    live = browser.get("/api/live").json()
    assert live["last_row_id"] == 200 and len(live["rows"]["id"]) == 200 and len(live["rows"]["energy_uj"]) == 200
    assert live["rows"]["metric"][-1] is not None and live["rows"]["skill"][-1] is not None
    assert [m["kind"] for m in live["markers"]] == ["reuse"] and live["markers"][0]["row"] == 180
    assert set(live["energy"]) == {"linear"} and live["energy"]["linear"]["predictions"] == 200
    assert live["meter"]["kind"] in ("measured", "estimated")
    newer = browser.get("/api/live?after=150&after_event=2").json()
    assert newer["rows"]["id"][0] == 151 and newer["markers"] == []

    history = browser.get("/api/history").json()
    assert history["x"] == list(range(1, 201)) and history["rows_per_group"] == 1
    assert [m["kind"] for m in history["markers"]] == ["reuse"]
    assert history["energy"]["goal_uj"] > 0 and set(history["energy"]["calibrated_uj"]) >= {"linear"}

    decisions = browser.get("/api/decisions").json()
    assert [e["decision"] for e in decisions["events"]] == ["reuse", "no-drift"]
    assert decisions["events"][0]["seen"]["version_kl"] == 0.1
    assert [e["id"] for e in browser.get("/api/decisions?decision=no-drift").json()["events"]] == [1]
    assert browser.get("/api/decisions?loop=switch").json()["events"] == []
    assert [e["id"] for e in browser.get("/api/decisions?before=2").json()["events"]] == [1]

    models = browser.get("/api/models").json()
    linear = models["kinds"][0]
    assert linear["kind"] == "linear" and linear["active_version"] == 2 and linear["serving"]
    assert [v["version"] for v in linear["versions"]] == [1, 2]
    assert "holdout_r2" in linear["versions"][0]["metrics"] and linear["versions"][0]["data"]["n"] > 0

    approach = browser.get("/api/approach").json()
    assert approach["approach"] == "harmone" and "switch" in approach["loops"]
    assert "single-linear" in [a["name"] for a in approach["approaches"]]
    assert not [a for a in approach["approaches"] if "logistic" in a["name"] or "cnn" in a["name"]]
    words = browser.get("/api/session").json()["task"]
    assert (words["metric"], words["skill_over"], words["error"], words["values"]) == \
        ("R²", "skill over persistence", "MAE", True)
    assert browser.get("/api/config").json()["text"] == dashboard.workspace.config_path.read_text(encoding="utf-8")

    experiments = browser.get("/api/experiments").json()["experiments"]
    assert experiments[0]["name"] == "experiment/first" and experiments[0]["plots"] == ["energy_vs_r2.png"]
    assert experiments[0]["rows"][0]["energies"] == "modelled"  # --meter model: not "estimated"
    assert experiments[0]["words"]["metric"] == "R²"  # results from before tasks were named: forecasting
    answer = browser.get("/api/experiments/file?name=experiment/first&file=energy_vs_r2.png")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    assert answer.content.startswith(b"\x89PNG")
    assert browser.get("/api/experiments/file?name=experiment/first&file=../results.json").status_code == 404
    assert browser.get("/api/experiments/file?name=..&file=harmone.toml").status_code == 404
    assert [r["command"] for r in browser.get("/api/runs").json()["runs"]] == ["infer", "manage"]
    assert browser.get("/api/start").json()["empty"] is False


def test_changes_are_recorded_as_operator_events(served: tuple[Dashboard, TestClient]) -> None:
    dashboard, browser = served
    workspace = dashboard.workspace
    answer = browser.post("/api/approach", json={"name": "no-such"})
    assert answer.status_code == 400 and "no-such" in answer.text
    assert browser.get("/api/approach").json()["approach"] == "harmone"
    assert browser.post("/api/approach", json={"name": "switch"}).status_code == 200
    assert browser.get("/api/approach").json()["approach"] == "switch"
    answer = browser.post("/api/models/promote", json={"kind": "linear", "version": 1})
    assert answer.status_code == 200 and answer.json()["action"] == "rollback"
    assert ModelRepository(Workspace(workspace.root)).active_version("linear") == 1
    assert browser.post("/api/models/promote", json={"kind": "linear", "version": 9}).status_code == 400
    with KnowledgeStore.open_readonly(workspace.db_path) as store:
        operator = [e for e in store.events() if e.decision is Decision.OPERATOR]
    assert all(e.loop is LoopName.OPERATOR for e in operator)
    assert [(e.observed["operator"], e.model, e.version) for e in operator] == [
        ("approach", None, None), ("rollback", "linear", 1)]
    browser.post("/api/approach", json={"name": "harmone"})
    browser.post("/api/models/promote", json={"kind": "linear", "version": 2})


def test_the_configuration_is_checked_shown_as_a_diff_and_an_empty_one_needs_confirming(
        served: tuple[Dashboard, TestClient]) -> None:
    dashboard, browser = served
    path = dashboard.workspace.config_path
    original = path.read_text(encoding="utf-8")
    answer = browser.post("/api/config/check", json={"text": original.replace("interval_s = 0.15", "interval_s = -1")})
    assert answer.status_code == 400 and "interval_s" in answer.text
    answer = browser.post("/api/config/check", json={"text": "[stream\n"})
    assert answer.status_code == 400 and "not valid TOML" in answer.text
    edited = original.replace("interval_s = 0.15", "interval_s = 0.05")
    checked = browser.post("/api/config/check", json={"text": edited}).json()
    assert "-interval_s = 0.15" in checked["diff"] and "+interval_s = 0.05" in checked["diff"]
    assert path.read_text(encoding="utf-8") == original  # checking saves nothing
    answer = browser.post("/api/config/save", json={"text": edited, "base": "stale"})
    assert answer.status_code == 400 and "changed on disk" in answer.text
    assert browser.post("/api/config/save", json={"text": edited, "base": original}).status_code == 200
    assert path.read_text(encoding="utf-8") == edited
    answer = browser.post("/api/config/save", json={"text": "\n", "base": edited})
    assert answer.status_code == 409 and answer.json()["confirm"] is True and "default" in answer.json()["error"]
    assert path.read_text(encoding="utf-8") == edited  # nothing saved without the confirmation
    assert browser.post("/api/config/save", json={"text": "", "base": edited, "confirm": True}).status_code == 200
    assert path.read_text(encoding="utf-8") == ""
    browser.post("/api/config/save", json={"text": original, "base": ""})
    assert path.read_text(encoding="utf-8") == original


def test_run_control_accepts_only_its_commands_and_checked_options(served: tuple[Dashboard, TestClient]) -> None:
    _, browser = served
    for body in ({"command": "rm"}, {"command": "infer", "interval": "1; rm"}, {"command": "infer", "steps": -1},
                 {"command": "infer", "steps": 1.5}, {"command": "infer", "time_scale": 0},
                 {"command": "infer", "time_scale": 1e9}, {"command": "infer", "from_start": "yes"},
                 {"command": "manage", "steps": 3}, {"command": "infer", "shell": "ls"}):
        assert browser.post("/api/runs/start", json=body).status_code == 400, body
    assert browser.post("/api/runs/stop", json={"command": "manage"}).status_code == 400
    assert browser.post("/api/upload", json={"code": "print(1)"}).status_code == 404


# -- the pushed stream -----------------------------------------------------------------------------

def _next_event(lines: Iterator[str], deadline: float) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in lines:
        if time.monotonic() > deadline:
            break
        if not line:
            if "data" in fields:
                return fields
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(": ")
        fields[name] = value
    raise AssertionError("no event in time")


def test_the_stream_pushes_a_logged_batch_within_a_second_and_resumes(served: tuple[Dashboard, TestClient]) -> None:
    dashboard, browser = served
    live = browser.get("/api/live").json()
    resume = f"{live['last_row_id']}:{live['last_event_id']}"
    with KnowledgeStore(dashboard.workspace.db_path) as store:
        first = store.last_row_id()
        with browser.stream("GET", "/api/stream", headers={"Last-Event-ID": resume}) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            assert _secured(response)
            lines = response.iter_lines()
            assert next(lines).startswith("retry:")
            logged = time.monotonic()
            store.append_predictions([(0.0, 100.0 + i, 101.0 + i, "linear", 1, 1e-5, 3.0) for i in range(5)])
            event = _next_event(lines, logged + 5.0)
            assert time.monotonic() - logged < 1.0
        data = json.loads(event["data"])
        assert data["rows"]["id"] == list(range(first + 1, first + 6)) and event["id"].startswith(f"{first + 5}:")
        store.append_predictions([(0.0, 1.0, 1.0, "linear", 1, 1e-5, 3.0)] * 3)
    with browser.stream("GET", "/api/stream", headers={"Last-Event-ID": event["id"]}) as again:
        data = json.loads(_next_event(again.iter_lines(), time.monotonic() + 5.0)["data"])
    assert data["rows"]["id"] == [first + 6, first + 7, first + 8]


def test_the_feed_waits_for_a_knowledge_base_that_is_being_set_up(tmp_path: Path) -> None:
    """An `infer` started from Run control creates the knowledge base a moment before its tables; the
    feed thread once died opening it in between, and the live page never updated again."""
    import threading

    from harmone.dashboard.feed import POLL_S, LiveFeed
    from harmone.dashboard.history import History

    workspace, _ = Workspace.init(tmp_path / "ws")
    workspace.db_path.parent.mkdir(parents=True, exist_ok=True)
    workspace.db_path.touch()  # created, not yet set up
    closing = threading.Event()
    feed = LiveFeed(workspace, History(workspace), closing)
    feed.ensure_running()
    try:
        time.sleep(3 * POLL_S)
        with KnowledgeStore(workspace.db_path) as store:
            store.append_predictions([(0.0, 1.0, 1.0, "linear", 1, 1e-5, 3.0)] * 4)
        deadline = time.monotonic() + 5.0
        while (feed.position or (0, 0))[0] != 4 and time.monotonic() < deadline:
            time.sleep(POLL_S)
        assert feed.position == (4, 0)
    finally:
        closing.set()
        if feed._thread is not None:
            feed._thread.join(timeout=5.0)


# -- Prometheus ------------------------------------------------------------------------------------

def _scrape(browser: TestClient, headers: dict[str, str] | None = None) -> tuple[dict[str, dict], str]:
    answer = browser.get("/metrics", headers=headers)
    assert answer.status_code == 200
    found: dict[str, dict] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found, answer.text


def test_metrics_follow_prometheus_conventions_and_count_incrementally(
        served: tuple[Dashboard, TestClient], monkeypatch: pytest.MonkeyPatch) -> None:
    dashboard, browser = served
    before, text = _scrape(browser)
    with KnowledgeStore.open_readonly(dashboard.workspace.db_path) as store:
        count = store.count_predictions()
    assert sum(before["harmone_predictions_total"].values()) == count
    assert before["harmone_decisions_total"][(("decision", "reuse"), ("loop", "drift"))] == 1
    assert "operator" in text.split("# HELP harmone_decisions_total")[1].splitlines()[0]
    assert not [name for name in before if "microjoules" in name]
    joules = before["harmone_prediction_energy_joules_total"][(("model", "linear"),)]
    assert joules == pytest.approx(dashboard.history.totals.energy_uj["linear"] / 1e6, rel=1e-9)
    assert "harmone_rolling_r2" in before and "harmone_rolling_skill" in before and "harmone_active_model" in before
    assert "harmone_loop_last_run_seconds" not in before  # no loop has run in this workspace

    reads: list[int] = []
    real = KnowledgeStore.prediction_buckets_after
    monkeypatch.setattr(KnowledgeStore, "prediction_buckets_after",
                        lambda self, row_id, width: reads.append(row_id) or real(self, row_id, width))
    with KnowledgeStore(dashboard.workspace.db_path) as store:
        newest = store.last_row_id()
        store.append_predictions([(0.0, 1.0, 1.0, "svm", 1, 1e-5, 7e6)] * 4)
        store.save_loop_state(RetrainLoopState(next_due_s=500.0, last_run_s=0.0125))
        from harmone.knowledge import Action, Event

        store.record_event(Event(time_s=3.0, loop=LoopName.RETRAIN, action=Action.RETRAIN, model="linear",
                                 version=3, energy_uj=21e6, decision=Decision.SCHEDULED,
                                 observed={"values": 1500, "active_version": 2, "new_version": 3,
                                           "holdout_r2": 0.9, "train_energy_uj": 20e6, "n_train_values": 1500,
                                           "promoted": False}))
    scraper = client(dashboard, login=False)
    after, _ = _scrape(scraper, {"Authorization": f"Bearer {dashboard.metrics_token}"})
    assert reads and min(reads) >= newest - 64  # only the new rows (and the bucket they extend) were read
    assert after["harmone_loop_last_run_seconds"] == {(("loop", "retrain"),): 0.0125}
    assert after["harmone_predictions_total"][(("model", "svm"),)] == 4
    assert after["harmone_prediction_energy_joules_total"][(("model", "svm"),)] == pytest.approx(28.0)
    assert after["harmone_retraining_energy_joules_total"][(("loop", "retrain"),)] == pytest.approx(21.0)
    assert after["harmone_adaptation_energy_joules_total"][(("loop", "retrain"),)] == pytest.approx(21.0)
    assert after["harmone_retrainings_total"][(("loop", "retrain"),)] == 1
    assert scraper.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


# -- served for real -------------------------------------------------------------------------------

def test_the_command_serves_on_loopback_prints_a_one_time_link_and_stops_cleanly(tmp_path: Path) -> None:
    """Through `harmone dashboard` and uvicorn: a closed stream and SIGTERM leave no traceback."""
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
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        link = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", "".join(lines))
        assert link is not None, lines
        port = int(link.group(1))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False) as browser:
            assert browser.get(f"/?token={link.group(2)}").status_code == 303
            assert browser.get("/api/models").status_code == 200
            assert browser.head("/").status_code == 200
            with browser.stream("GET", "/api/stream") as stream:  # a tab that closes mid-stream
                assert next(stream.iter_lines()).startswith("retry:")
        assert (workspace.knowledge_dir / "dashboard-metrics.token").stat().st_mode & 0o077 == 0
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(20)
        errors = process.stderr.read() if process.stderr is not None else ""
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    assert code == 0, errors
    assert "Traceback" not in errors and "Error" not in errors, errors
