"""The dashboard's HTTP server: the standard library's threading server, one handler, no framework.

Every request passes the guard (Host header, session cookie; CSRF token for changes)
before it reaches a route. Pages are one static HTML app with plain JavaScript modules and a
vendored chart library, so the page needs no network beyond this server. ``/api/stream``
pushes new rows and events as server-sent events, resuming after a reconnect from the
``Last-Event-ID`` the browser sends back.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import harmone.dashboard.actions as actions
import harmone.dashboard.views as views
from harmone.dashboard.auth import CSRF_HEADER, Guard, session_cookie
from harmone.dashboard.feed import LiveFeed, update
from harmone.dashboard.metrics import Exporter
from harmone.dashboard.runs import RunControl
from harmone.errors import HarmonEError
from harmone.workspace import Workspace

STATIC_DIR = Path(__file__).parent / "static"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Seconds between keep-alive comments on a stream when nothing happens.
KEEPALIVE_S = 15.0
MAX_BODY = 512 * 1024
#: File in the workspace's knowledge folder holding the bearer token ``/metrics`` accepts.
METRICS_TOKEN_FILE = "dashboard-metrics.token"


class Dashboard:
    """A running dashboard for one workspace (``start()`` serves in a thread, ``close()`` ends it)."""

    def __init__(self, workspace: Workspace, host: str = "127.0.0.1", port: int = 0) -> None:
        self.workspace = workspace
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = host, int(self.httpd.server_address[1])
        self.guard = Guard.for_address(host, self.port)
        self.exporter = Exporter(workspace)
        self.runs = RunControl(workspace.root)
        self.closing = threading.Event()
        self.feed = LiveFeed(workspace, self.closing)
        self.metrics_token = secrets.token_urlsafe(24)
        self.httpd.dashboard = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The one-time URL: its token opens one browser session."""
        return f"http://{self.host}:{self.port}/?token={self.guard.token}"

    def write_metrics_token(self) -> Path:
        path = self.workspace.knowledge_dir / METRICS_TOKEN_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.metrics_token + "\n")
        return path

    def start(self) -> Dashboard:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="dashboard", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.runs.close()


def serve(workspace: Workspace, host: str = "127.0.0.1", port: int = 8765,
          announce: Callable[[str], None] = print) -> None:
    """Serve until interrupted (the ``harmone dashboard`` command)."""
    dashboard = Dashboard(workspace, host, port)
    token_path = dashboard.write_metrics_token()
    announce(f"HarmonE dashboard for {workspace.root.resolve()}")
    announce(f"  open (once; the link then stops working): {dashboard.url}")
    announce(f"  Prometheus: http://{host}:{dashboard.port}/metrics with the bearer token in {token_path}")
    announce("  Ctrl-C stops it (and any run started from the page)")
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        dashboard.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        dashboard.closing.set()
        dashboard.httpd.server_close()
        dashboard.runs.close()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends the dashboard as Ctrl-C does: the runs it started are stopped too."""
    raise KeyboardInterrupt


class _Handler(BaseHTTPRequestHandler):
    server_version = "harmone-dashboard"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    #: Headers and body go out in two writes; without this, delayed ACKs add 40 ms per answer.
    disable_nagle_algorithm = True

    @property
    def app(self) -> Dashboard:
        return self.server.dashboard  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    # -- answers -------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self._security_headers()
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _security_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")

    def _json(self, value: Any, status: int = 200) -> None:
        self._send(status, json.dumps(value, allow_nan=False).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    # -- the guard -----------------------------------------------------------------------------

    def _admit(self) -> tuple[str | None, dict[str, list[str]], str] | None:
        """(session, query, path) for a request that may go on; None once it was answered."""
        if not self.app.guard.host_ok(self.headers.get("Host")):
            self._error(HTTPStatus.FORBIDDEN, "unexpected Host header")
            return None
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path == "/" and "token" in query and self.command == "GET":
            opened = self.app.guard.exchange(query["token"][0])
            if opened is None:
                self._error(HTTPStatus.FORBIDDEN, "this link was already used or is wrong; "
                                                  "restart `harmone dashboard` for a new one")
                return None
            self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": "/",
                                                                 "Set-Cookie": session_cookie(opened[0])})
            return None
        session = self.app.guard.session(self.headers.get("Cookie"))
        if session is None and parts.path == "/metrics" and self._metrics_bearer_ok():
            return None, query, parts.path
        if session is None:
            self._error(HTTPStatus.UNAUTHORIZED, "open the link `harmone dashboard` printed")
            return None
        return session, query, parts.path

    def _metrics_bearer_ok(self) -> bool:
        offered = self.headers.get("Authorization", "")
        expected = f"Bearer {self.app.metrics_token}"
        return secrets.compare_digest(offered.encode(), expected.encode())

    # -- methods -------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        admitted = self._admit()
        if admitted is None:
            return
        _, query, path = admitted
        try:
            self._get(path, query)
        except HarmonEError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        app, ws = self.app, self.app.workspace
        one = {key: values[0] for key, values in query.items()}
        if path == "/" or path == "/index.html":
            return self._static("index.html")
        if path == "/favicon.ico":
            return self._send(HTTPStatus.NO_CONTENT, b"", "text/plain")
        if path.startswith("/static/"):
            return self._static(path[len("/static/"):])
        if path == "/metrics":
            return self._send(200, app.exporter.text(), "text/plain; version=0.0.4; charset=utf-8")
        if path == "/api/stream":
            return self._stream(self.headers.get("Last-Event-ID") or one.get("from", "0:0"))
        routes: dict[str, Callable[[], Any]] = {
            "/api/session": lambda: {"csrf": app.guard.csrf(self._session_id()), "workspace": str(ws.root.resolve())},
            "/api/live": lambda: views.live(ws, _int(one.get("after")), _int(one.get("after_event"))),
            "/api/decisions": lambda: views.decisions(ws, before=_int(one.get("before")) or None,
                                                      loop=one.get("loop") or None,
                                                      decision=one.get("decision") or None),
            "/api/models": lambda: views.models(ws),
            "/api/approach": lambda: views.approach(ws),
            "/api/config": lambda: {"text": ws.config_path.read_text(encoding="utf-8"),
                                    "file": ws.config_path.name},
            "/api/experiments": lambda: views.experiments(ws),
            "/api/runs": lambda: app.runs.state(),
        }
        if path == "/api/experiments/file":
            found = views.experiment_file(ws, one.get("name", ""), one.get("file", ""))
            if found is None:
                return self._error(HTTPStatus.NOT_FOUND, "no such plot")
            return self._send(200, found.read_bytes(), "image/png")
        if path not in routes:
            return self._error(HTTPStatus.NOT_FOUND, f"no page {path}")
        self._json(routes[path]())

    def _session_id(self) -> str:
        session = self.app.guard.session(self.headers.get("Cookie"))
        assert session is not None  # admitted requests carry one
        return session

    def do_POST(self) -> None:  # noqa: N802 - the base class's name
        admitted = self._admit()
        if admitted is None:
            return
        session, _, path = admitted
        if session is None or not self.app.guard.csrf_ok(session, self.headers.get(CSRF_HEADER)):
            return self._error(HTTPStatus.FORBIDDEN, "missing or wrong CSRF token")
        origin = self.headers.get("Origin")
        if origin is not None and origin.removeprefix("http://") not in self.app.guard.allowed_hosts:
            return self._error(HTTPStatus.FORBIDDEN, "request from another origin")
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
        length = _int(self.headers.get("Content-Length"))
        if not 0 < length <= MAX_BODY:
            return self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a request body is 1 to {MAX_BODY} bytes")
        try:
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return self._error(HTTPStatus.BAD_REQUEST, f"the request body is not a JSON object ({exc})")
        try:
            self._json(self._post(path, body))
        except KeyError:
            self._error(HTTPStatus.NOT_FOUND, f"no action {path}")
        except HarmonEError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        ws, runs = self.app.workspace, self.app.runs
        if path == "/api/runs/start":
            described = runs.start(str(body.get("command")), body)
            actions.run_event(ws, "start", described)
            return described
        if path == "/api/runs/stop":
            described = runs.stop(str(body.get("command")))
            actions.run_event(ws, "stop", described)
            return described
        handlers: dict[str, Callable[[], Any]] = {
            "/api/approach": lambda: actions.change_approach(ws, body.get("name")),
            "/api/models/promote": lambda: actions.promote(ws, body.get("kind"), body.get("version")),
            "/api/config/check": lambda: actions.check_config(ws, body.get("text")),
            "/api/config/save": lambda: actions.save_config(ws, body.get("text"), body.get("base")),
        }
        return handlers[path]()

    # -- static files and the stream -------------------------------------------------------------

    def _static(self, relative: str) -> None:
        path = (STATIC_DIR / relative).resolve()
        if STATIC_DIR.resolve() not in path.parents or path.suffix not in _TYPES or not path.is_file():
            return self._error(HTTPStatus.NOT_FOUND, "no such file")
        self._send(200, path.read_bytes(), _TYPES[path.suffix])

    def _stream(self, resume: str) -> None:
        """Push ``live`` updates as server-sent events; each event's id is ``row:event`` to resume from."""
        after_row, _, after_event = resume.partition(":")
        position = (_int(after_row), _int(after_event))
        feed = self.app.feed
        feed.ensure_running()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self._security_headers()
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        last_write = time.monotonic()
        try:
            self.wfile.write(b"retry: 1000\n\n")
            self.wfile.flush()
            while not self.app.closing.is_set():
                pending = feed.after(position)
                if not pending and feed.position is not None and feed.position != position:
                    if position > feed.position:  # the workspace was reset: send it all again
                        position = (0, 0)
                    pending = [update(self.app.workspace, position)]  # catch up on our own, then follow
                for position, text in pending:
                    self.wfile.write(f"id: {position[0]}:{position[1]}\nevent: live\ndata: {text}\n\n".encode())
                if pending:
                    self.wfile.flush()
                    last_write = time.monotonic()
                elif time.monotonic() - last_write > KEEPALIVE_S:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    last_write = time.monotonic()
                with feed.changed:
                    if feed.after(position) == [] and feed.position == position:
                        feed.changed.wait(1.0)
        except (OSError, HarmonEError):
            return


def _int(text: Any) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0

