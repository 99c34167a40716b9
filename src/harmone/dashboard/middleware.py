"""The two layers around every route: an answer with the security headers for every request, and
who gets in.

Both are plain ASGI layers, so a streamed answer (the server-sent events) passes through
untouched:

- ``Answered`` (outermost) adds the security headers to every answer, whoever made it (a
  route, the router's 404 and 405, an error page), and turns an exception no route handled
  into a JSON 500 and one line in the log, never a dropped connection or a traceback.
- ``Admission`` checks the Host header (DNS rebinding), exchanges the one-time link for the
  session cookie, lets in only requests with the session (or, for ``/metrics``, the bearer
  token), answers OPTIONS with the methods a path allows, and lets a change (POST) through
  only with the session's CSRF token, no foreign Origin and a JSON body.
"""

from __future__ import annotations

import html
import logging
import secrets
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harmone.dashboard.auth import CSRF_HEADER

if TYPE_CHECKING:
    from harmone.dashboard.server import Dashboard

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Sent with every answer.
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
#: Paths a browser opens as a page (their refusals are a short HTML page, not JSON).
PAGES = ("/", "/index.html")

log = logging.getLogger("harmone.dashboard")


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def page_error(status: int, message: str) -> HTMLResponse:
    """A refusal a person reads in the browser tab."""
    text = html.escape(message)
    return HTMLResponse(f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>HarmonE dashboard"
                        f"</title></head><body><h1>HarmonE dashboard</h1><p>{text}</p></body></html>",
                        status_code=status)


class Answered:
    """Security headers on every answer; a JSON 500 and one log line for an unhandled exception."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # noqa: BLE001 - every request gets an answer, whatever failed
            log.error("harmone dashboard: %s %s failed: %s: %s", scope.get("method"), scope.get("path"),
                      type(exc).__name__, exc)
            if not started:
                await error(500, f"the dashboard failed on this request ({type(exc).__name__}: {exc})")(
                    scope, receive, send_with_headers)


class Admission:
    """Who gets in, and with what (see the module's docstring)."""

    def __init__(self, app: ASGIApp, dashboard: Dashboard, routes: list[BaseRoute]) -> None:
        self.app = app
        self.dashboard = dashboard
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        """The answer for a request that may not reach a route (None: it may)."""
        guard = self.dashboard.guard
        headers = Headers(scope=scope)
        path, method = scope["path"], scope["method"]
        page = path in PAGES
        if not guard.host_ok(headers.get("host")):
            return page_error(403, "Unexpected Host header.") if page else error(403, "unexpected Host header")
        session = guard.session(headers.get("cookie"))
        query = QueryParams(scope.get("query_string", b"").decode("latin-1"))
        if path == "/" and "token" in query and method in ("GET", "HEAD"):
            opened = guard.exchange(query["token"])
            if opened is not None:
                return Response(status_code=303, headers={"Location": "/", "Set-Cookie": guard.cookie(opened[0])})
            if session is not None:  # the printed link opened again in the browser that used it
                return Response(status_code=303, headers={"Location": "/"})
            return page_error(403, "This link was already used or is wrong; restart `harmone dashboard` for a new one.")
        if session is None and not (path == "/metrics" and self._bearer_ok(headers)):
            message = "open the link `harmone dashboard` printed"
            return page_error(401, f"Not signed in: {message}.") if page else error(401, message)
        if method == "OPTIONS":
            allowed = self._allowed(scope)
            if not allowed:
                return error(404, f"no page {path}")
            return Response(status_code=204, headers={"Allow": ", ".join(allowed)})
        if method == "POST":
            if session is None or not guard.csrf_ok(session, headers.get(CSRF_HEADER)):
                return error(403, "missing or wrong CSRF token")
            origin = headers.get("origin")
            if origin is not None and origin.removeprefix("http://") not in guard.allowed_hosts:
                return error(403, "request from another origin")
            if not headers.get("content-type", "").startswith("application/json"):
                return error(415, "send JSON")
        scope.setdefault("state", {})["session"] = session
        return None

    def _bearer_ok(self, headers: Headers) -> bool:
        offered = headers.get("authorization", "")
        expected = f"Bearer {self.dashboard.metrics_token}"
        return secrets.compare_digest(offered.encode("latin-1", "replace"), expected.encode())

    def _allowed(self, scope: Scope) -> list[str]:
        methods: set[str] = set()
        for route in self.routes:
            match, _ = route.matches(scope)  # PARTIAL: the path is this route's, the method is not
            if match is not Match.NONE:
                methods |= set(getattr(route, "methods", None) or ())
        return sorted(methods | {"OPTIONS"}) if methods else []
