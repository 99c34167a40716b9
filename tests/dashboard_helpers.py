"""Shared pieces of the dashboard tests: a small served workspace and an HTTP client with a cookie."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

from harmone.clock import WallClock
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
    run_inference(workspace, steps=200, interval_s=0, clock=WallClock())
    with KnowledgeStore(workspace.db_path) as store:
        store.record_event(Event(time_s=1.0, loop=LoopName.DRIFT, action=Action.NONE, decision=Decision.NO_DRIFT,
                                 observed={"window_kl": 0.12, "drift_detected": False, "last_row_id": 120}))
        store.record_event(Event(time_s=2.0, loop=LoopName.DRIFT, action=Action.REUSE, model="linear", version=1,
                                 decision=Decision.REUSE, observed={"window_kl": 0.9, "version_kl": 0.1,
                                                                    "drift_detected": True, "last_row_id": 180}))
    folder = workspace.root / "experiment" / "first"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps([{"approach": "harmone", "r2": 0.9, "predictions": 10,
                                                      "energy_mj_per_prediction": 0.02}]), encoding="utf-8")
    (folder / "energy_vs_r2.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a picture")
    return workspace


class Client:
    """One browser's worth of requests: keeps the session cookie and the CSRF token."""

    def __init__(self, port: int, host: str | None = None) -> None:
        self.port = port
        self.host = host or f"127.0.0.1:{port}"
        self.cookie: str | None = None
        self.csrf: str | None = None

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        sent = {"Host": self.host, **({"Cookie": self.cookie} if self.cookie else {}), **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
            if self.csrf:
                sent.setdefault("X-CSRF-Token", self.csrf)
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        connection.close()
        return answer

    def get_json(self, path: str) -> Any:
        status, _, body = self.request("GET", path)
        assert status == 200, body
        return json.loads(body)

    def login(self, token: str) -> None:
        status, headers, _ = self.request("GET", f"/?token={token}")
        assert status == 303, status
        self.cookie = headers["set-cookie"].split(";")[0]
        self.csrf = self.get_json("/api/session")["csrf"]
