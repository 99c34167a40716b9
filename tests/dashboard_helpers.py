"""Shared pieces of the dashboard tests: a small served workspace and a logged-in in-memory client."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from harmone.clock import WallClock
from harmone.dashboard import Dashboard
from harmone.energy.calibrate import Calibration
from harmone.knowledge import Action, Decision, Event, KnowledgeStore, LoopName
from harmone.workspace import Workspace


def served_workspace(root: Path) -> Workspace:
    """linear trained twice (v2 active), 200 logged predictions, two events, one experiment folder."""
    from conftest import make_workspace

    from harmone import lifecycle
    from harmone.runner import run_inference

    workspace = make_workspace(root)
    lifecycle.train_initial(workspace, ["linear"])
    lifecycle.train_initial(workspace, ["linear"])
    workspace.write_active_model("linear")
    Calibration(energy_uj_per_prediction={"linear": 3.0, "svm": 4.0}, duration_s_per_prediction={"linear": 1e-5,
                "svm": 2e-5}, e_min_uj=0.0, e_max_uj=5.0, meter_kind="estimated", meter_source="fake",
                predictions=100, headroom=1.25).save(workspace.calibration_path)
    run_inference(workspace, steps=200, interval_s=0, clock=WallClock())
    with KnowledgeStore(workspace.db_path) as store:
        store.record_event(Event(time_s=1.0, loop=LoopName.DRIFT, action=Action.NONE, decision=Decision.NO_DRIFT,
                                 observed={"detector_score": 0.12, "drift_detected": False, "last_row_id": 120}))
        store.record_event(Event(time_s=2.0, loop=LoopName.DRIFT, action=Action.REUSE, model="linear", version=1,
                                 decision=Decision.REUSE, observed={"detector_score": 0.9, "version_kl": 0.1,
                                                                    "drift_detected": True, "last_row_id": 180}))
    folder = workspace.root / "experiment" / "first"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps([{"approach": "harmone", "r2": 0.9, "skill": 0.31,
                                                      "predictions": 10, "energy_mj_per_prediction": 0.02,
                                                      "inference_energy_mj_per_prediction": 0.015,
                                                      "adaptation_energy_mj_per_prediction": 0.005,
                                                      "retraining_energy_mj_per_prediction": 0.004,
                                                      "latency_ms_mean": 0.003, "latency_ms_p95": 0.004,
                                                      "meter_kind": "estimated",
                                                      "meter_source": "model:reference"}]), encoding="utf-8")
    (folder / "energy_vs_r2.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a picture")
    return workspace


def client(dashboard: Dashboard, *, login: bool = True) -> TestClient:
    """An in-memory browser for ``dashboard``: its Host, and (``login``) the session and CSRF token."""
    browser = TestClient(dashboard.app, base_url=f"http://127.0.0.1:{dashboard.port}", follow_redirects=False)
    if login:
        sign_in(browser, dashboard.guard.token or "")
    return browser


def sign_in(browser: TestClient, token: str) -> None:
    answer = browser.get(f"/?token={token}")
    assert answer.status_code == 303, answer.text
    browser.headers["X-CSRF-Token"] = browser.get("/api/session").json()["csrf"]
