"""The dashboard as a Starlette application: a route table, each route a thin call into ``views``
(reading) or ``actions`` and ``runs`` (changing), answered as JSON.

Every request passes ``middleware.Answered`` and ``middleware.Admission`` first (security
headers, Host, session, CSRF). Reading routes are plain functions, which Starlette runs in
its thread pool (they read SQLite); the event stream is an async generator that follows the
shared ``LiveFeed``. Every input is checked here before it reaches the library: numbers in
the query must be whole numbers SQLite can hold, a request body must be a JSON object of
valid Unicode, and static files are served only from the list of files the package ships.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

import harmone.dashboard.actions as actions
import harmone.dashboard.views as views
from harmone.dashboard.feed import Position, update
from harmone.dashboard.middleware import Admission, Answered, error
from harmone.errors import HarmonEError
from harmone.plugins import installed, to_record

if TYPE_CHECKING:
    from harmone.dashboard.server import Dashboard

STATIC_DIR = Path(__file__).parent / "static"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}
#: Seconds between keep-alive comments on a stream when nothing happens.
KEEPALIVE_S = 15.0
#: Longest a stream sleeps between two looks at the shared feed (it is woken by each update).
STREAM_WAKE_S = 1.0
MAX_BODY = 512 * 1024
#: The largest whole number a query may carry (SQLite's integers are 64-bit).
MAX_QUERY_INT = 2**63 - 1
#: Points the History chart may ask for.
HISTORY_POINTS = (10, 4000)


def _static_files() -> dict[str, tuple[bytes, str]]:
    """Every file the page may load, read once: the only paths ``/static/`` answers."""
    files = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file() and path.suffix in _TYPES:
            files[path.relative_to(STATIC_DIR).as_posix()] = (path.read_bytes(), _TYPES[path.suffix])
    return files


STATIC = _static_files()


class BadRequest(HTTPException):
    def __init__(self, detail: str, status_code: int = 400) -> None:
        super().__init__(status_code=status_code, detail=detail)


def query_int(request: Request, name: str, default: int | None = 0, lo: int = 0, hi: int = MAX_QUERY_INT) -> int | None:
    """A whole number from the query string, checked against its range (a clear 400 otherwise)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not lo <= int(raw) <= hi:
        raise BadRequest(f"{name}={raw[:40]!r} must be a whole number from {lo} to {hi}")
    return int(raw)


def position(text: str) -> Position:
    """A stream position ``row:event`` (what ``Last-Event-ID`` carries)."""
    row, _, event = text.partition(":")
    parts = []
    for part in (row or "0", event or "0"):
        if not (part.isascii() and part.isdigit()) or int(part) > MAX_QUERY_INT:
            raise BadRequest(f"stream position {text[:60]!r} must be two whole numbers, row:event")
        parts.append(int(part))
    return parts[0], parts[1]


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; a 4xx naming what is wrong otherwise."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise BadRequest(f"a request body is 1 to {MAX_BODY} bytes", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest(f"a request body is 1 to {MAX_BODY} bytes", 413)
    if not body:
        raise BadRequest(f"a request body is 1 to {MAX_BODY} bytes", 413)
    try:
        value = json.loads(body)
        if not isinstance(value, dict):
            raise ValueError("not an object")
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeError:
        raise BadRequest("the request body holds text that is not valid Unicode (a lone surrogate such as \\ud800)")
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the request body is not a JSON object ({exc})") from None
    return value


def build_app(dashboard: Dashboard) -> Answered:
    """The ASGI application of ``dashboard``: its routes inside the two guarding layers."""
    ws, runs = dashboard.workspace, dashboard.runs

    def page(request: Request) -> Response:
        content, kind = STATIC["index.html"]
        return Response(content, media_type=kind)

    def static(request: Request) -> Response:
        found = STATIC.get(request.path_params["path"])
        if found is None:
            return error(404, "no such file")
        return Response(found[0], media_type=found[1])

    def session(request: Request) -> JSONResponse:
        return JSONResponse({"csrf": dashboard.guard.csrf(request.scope["state"]["session"]),
                             "workspace": str(ws.root.resolve()), "port": dashboard.port, "task": views.labels(ws)})

    def live(request: Request) -> JSONResponse:
        return JSONResponse(views.live(ws, dashboard.history, query_int(request, "after") or 0,
                                       query_int(request, "after_event") or 0))

    def history(request: Request) -> JSONResponse:
        points = query_int(request, "points", views.HISTORY_POINTS, *HISTORY_POINTS)
        return JSONResponse(views.history(ws, dashboard.history, query_int(request, "first", None),
                                          query_int(request, "last", None), points or views.HISTORY_POINTS))

    def decisions(request: Request) -> JSONResponse:
        return JSONResponse(views.decisions(ws, before=query_int(request, "before") or None,
                                            loop=request.query_params.get("loop") or None,
                                            decision=request.query_params.get("decision") or None))

    def experiment_file(request: Request) -> Response:
        found = views.experiment_file(ws, request.query_params.get("name", ""), request.query_params.get("file", ""))
        if found is None:
            return error(404, "no such plot")
        return Response(found.read_bytes(), media_type="image/png")

    def config(request: Request) -> JSONResponse:
        return JSONResponse({"text": ws.config_path.read_text(encoding="utf-8"), "file": ws.config_path.name})

    def metrics(request: Request) -> Response:
        return Response(dashboard.exporter.text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    def reader(view: Any) -> Any:
        return lambda request: JSONResponse(view())

    async def stream(request: Request) -> Response:
        resume = position(request.headers.get("last-event-id") or request.query_params.get("from") or "0:0")
        if request.method == "HEAD":
            return Response(media_type="text/event-stream")
        dashboard.feed.ensure_running()
        return StreamingResponse(_events(dashboard, resume), media_type="text/event-stream")

    async def change(request: Request) -> JSONResponse:
        body = await json_body(request)
        handler = CHANGES[request.url.path]
        return JSONResponse(await run_in_threadpool(handler, body))

    def start_run(body: dict[str, Any]) -> Any:
        options = {k: v for k, v in body.items() if k != "command"}
        described = runs.start(str(body.get("command")), options)
        actions.run_event(ws, "start", described)
        return described

    def stop_run(body: dict[str, Any]) -> Any:
        described = runs.stop(str(body.get("command")))
        actions.run_event(ws, "stop", described)
        return described

    CHANGES = {
        "/api/runs/start": start_run,
        "/api/runs/stop": stop_run,
        "/api/approach": lambda body: actions.change_approach(ws, body.get("name")),
        "/api/models/promote": lambda body: actions.promote(ws, body.get("kind"), body.get("version")),
        "/api/config/check": lambda body: actions.check_config(ws, body.get("text")),
        "/api/config/save": lambda body: actions.save_config(ws, body.get("text"), body.get("base"),
                                                             body.get("confirm", False)),
    }
    routes = [
        Route("/", page), Route("/index.html", page),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/static/{path:path}", static),
        Route("/metrics", metrics),
        Route("/api/stream", stream),
        Route("/api/session", session),
        Route("/api/live", live),
        Route("/api/history", history),
        Route("/api/decisions", decisions),
        Route("/api/models", reader(lambda: views.models(ws, dashboard.history))),
        Route("/api/approach", reader(lambda: views.approach(ws, dashboard.history, runs.time_scale("manage")))),
        Route("/api/config", config),
        Route("/api/experiments", reader(lambda: views.experiments(ws))),
        Route("/api/experiments/file", experiment_file),
        Route("/api/runs", reader(runs.state)),
        Route("/api/start", reader(lambda: views.getting_started(ws))),
        Route("/api/plugins", reader(lambda: {"plugins": [to_record(p) for p in installed()]})),
        *[Route(path, change, methods=["POST"]) for path in CHANGES],
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Admission, dashboard=dashboard, routes=routes)],
                    exception_handlers={HTTPException: _http_error, HarmonEError: _refused,
                                        Exception: _failed})
    return Answered(app)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=headers)


async def _refused(request: Request, exc: Exception) -> Response:
    """A refusal of the library (a bad option, a model that does not exist): 400 with its one line."""
    extra = {"confirm": True} if isinstance(exc, actions.NeedsConfirmation) else {}
    return error(409 if extra else 400, str(exc), **extra)


async def _failed(request: Request, exc: Exception) -> Response:
    return error(500, f"the dashboard failed on this request ({type(exc).__name__}: {exc})")


async def _events(dashboard: Dashboard, start: Position) -> AsyncIterator[str]:
    """Server-sent events: each live update with its ``row:event`` id, keep-alive comments between."""
    feed, here = dashboard.feed, start
    woken = feed.subscribe()
    try:
        yield "retry: 1000\n\n"
        last_write = time.monotonic()
        while not dashboard.closing.is_set():
            woken.clear()
            pending = feed.after(here)
            if not pending and feed.position is not None and feed.position != here:
                if here > feed.position:  # the workspace was reset (or the id is from elsewhere): send it all again
                    here = (0, 0)
                pending = [await run_in_threadpool(update, dashboard.workspace, dashboard.history, here)]
            for here, text in pending:
                yield f"id: {here[0]}:{here[1]}\nevent: live\ndata: {text}\n\n"
            if pending:
                last_write = time.monotonic()
            elif time.monotonic() - last_write > KEEPALIVE_S:
                yield ": keep-alive\n\n"
                last_write = time.monotonic()
            with anyio.move_on_after(STREAM_WAKE_S):
                await woken.wait()
    finally:
        feed.unsubscribe(woken)
