"""One dashboard for one workspace: the Starlette application (``app``) served by uvicorn.

``Dashboard(workspace)`` builds everything a dashboard holds (the guard, the shared live
feed and history, the run control, the Prometheus exporter) and its ASGI application,
which tests call in memory. ``Dashboard.listening`` binds the socket first, so that a port
of 0 is known before the guard is built (the Host check and the cookie name carry it);
``start()`` then serves in a thread and ``serve_forever()`` in the calling one (the
``harmone dashboard`` command: Ctrl-C or SIGTERM stop it and every run it started).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import uvicorn

from harmone.dashboard.app import build_app
from harmone.dashboard.auth import Guard
from harmone.dashboard.feed import LiveFeed
from harmone.dashboard.history import History
from harmone.dashboard.metrics import Exporter
from harmone.dashboard.runs import RunControl
from harmone.workspace import Workspace

#: The port ``harmone dashboard`` serves on unless told otherwise.
DEFAULT_PORT = 8765
#: File in the workspace's knowledge folder holding the bearer token ``/metrics`` accepts.
METRICS_TOKEN_FILE = "dashboard-metrics.token"
#: Seconds open connections get to finish when the dashboard stops.
SHUTDOWN_GRACE_S = 3.0
#: Connections the socket holds while the server starts.
BACKLOG = 128
#: Seconds ``start()`` waits for the server to listen.
START_TIMEOUT_S = 10.0
#: Seconds between two reads of what was logged into the shared History (its first read is the
#: whole history, done as the dashboard starts, so the first page or scrape does not wait for it).
HISTORY_EVERY_S = 1.0
#: The dashboard's threads run at this niceness (threads they start inherit it, the live feed's
#: and the request workers'): on a busy machine the inference and managing it watches keep the
#: processor, and the pages wait.
NICENESS = 10


def lower_priority() -> None:
    """Give the calling thread (and the threads it starts) a lower CPU priority; never raise it."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(NICENESS, os.getpriority(os.PRIO_PROCESS, tid)))
    except OSError:  # not allowed here: serve at the priority we have
        pass


class _Server(uvicorn.Server):
    """uvicorn's server that also tells the dashboard's streams to end when asked to stop."""

    def __init__(self, config: uvicorn.Config, closing: threading.Event) -> None:
        super().__init__(config)
        self.closing = closing

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.closing.set()
        super().handle_exit(sig, frame)


class Dashboard:
    """A dashboard for one workspace; ``app`` is its ASGI application."""

    def __init__(self, workspace: Workspace, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                 sock: socket.socket | None = None) -> None:
        self.workspace = workspace
        self.host, self.port = host, port
        self.guard = Guard.for_address(host, port)
        self.history = History(workspace)
        self.exporter = Exporter(workspace, self.history)
        self.runs = RunControl(workspace.root)
        self.closing = threading.Event()
        self.feed = LiveFeed(workspace, self.history, self.closing)
        self.metrics_token = secrets.token_urlsafe(24)
        self.app = build_app(self)
        self._socket = sock
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def listening(cls, workspace: Workspace, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> Dashboard:
        """A dashboard with its socket bound (port 0: any free port), ready to ``start`` or ``serve_forever``."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP named: asyncio turns Nagle's algorithm off only on sockets that say they are TCP,
        # and without that each answer (headers and body written apart) waits 40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(BACKLOG)  # from now on a browser's connection waits for the server, never refused
        except OSError:
            sock.close()
            raise
        return cls(workspace, host, int(sock.getsockname()[1]), sock=sock)

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

    def _uvicorn(self) -> _Server:
        if self._socket is None:
            raise RuntimeError("this dashboard has no socket: build it with Dashboard.listening")
        config = uvicorn.Config(self.app, http="h11", ws="none", lifespan="off", log_level="warning",
                                access_log=False, proxy_headers=False, server_header=False,
                                timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
        self._server = _Server(config, self.closing)
        return self._server

    def _keep_history(self) -> None:
        """Read the whole history now, then what is logged every ``HISTORY_EVERY_S`` (in the background)."""
        def keep() -> None:
            lower_priority()
            while not self.closing.is_set():
                self.history.catch_up()
                self.closing.wait(HISTORY_EVERY_S)

        threading.Thread(target=keep, name="dashboard-history", daemon=True).start()

    def _serve(self, server: _Server) -> None:
        lower_priority()
        server.run(sockets=[self._socket])

    def start(self) -> Dashboard:
        """Serve in a background thread (tests, benchmarks); returns once it listens."""
        server = self._uvicorn()
        self._keep_history()
        self._thread = threading.Thread(target=self._serve, args=(server,), name="dashboard", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            raise RuntimeError(f"the dashboard did not start on {self.host}:{self.port}")
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until SIGINT or SIGTERM; then stop the runs started from the page."""
        server = self._uvicorn()
        self._keep_history()
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            self._serve(server)
        except KeyboardInterrupt:  # uvicorn re-raises the signal it handled once it has stopped
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            self._finish()

    def close(self) -> None:
        """Stop serving (and every run started from the page)."""
        self.closing.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(SHUTDOWN_GRACE_S + 5)
        self._finish()

    def _finish(self) -> None:
        self.closing.set()
        self.runs.close()
        if self._socket is not None:
            self._socket.close()


def serve(workspace: Workspace, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          announce: Callable[[str], None] | None = None) -> None:
    """Serve until interrupted (the ``harmone dashboard`` command)."""
    announce = announce or (lambda line: print(line, flush=True))
    dashboard = Dashboard.listening(workspace, host, port)
    token_path = dashboard.write_metrics_token()
    announce(f"HarmonE dashboard for {workspace.root.resolve()}")
    announce(f"  open (once; the link then stops working): {dashboard.url}")
    announce(f"  Prometheus: http://{host}:{dashboard.port}/metrics with the bearer token in {token_path}")
    announce("  Ctrl-C stops it (and any run started from the page)")
    dashboard.serve_forever()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends the dashboard as Ctrl-C does: the runs it started are stopped too."""
    raise KeyboardInterrupt
