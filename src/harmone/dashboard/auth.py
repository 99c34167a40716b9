"""Who may talk to the dashboard: a one-time token, then a session cookie, a Host check and CSRF.

The URL printed at start carries a token that is exchanged once for a session cookie
(HttpOnly, SameSite=Strict) and then stops working, so a URL left in a terminal's scrollback
or a browser's history opens nothing. Every request must come with the cookie; a request
whose Host header is not the address served is refused (DNS rebinding); a request that
changes anything must also carry the session's CSRF token in a header.

Browsers do not keep cookies apart by port, so the cookie is named after the port served
(``harmone_session_8765``): two dashboards on one machine each keep their own session, and a
dashboard accepts only its own name. (A program listening on another port of this machine
is still sent the cookie by the browser: cookies cannot be scoped to a port.)
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie

#: The session cookie's name is this followed by the port served.
COOKIE_PREFIX = "harmone_session_"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class Guard:
    """The token, the sessions it opened and the Host names accepted."""

    allowed_hosts: frozenset[str]
    cookie_name: str
    token: str | None = field(default_factory=lambda: secrets.token_urlsafe(24))
    _sessions: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_address(cls, host: str, port: int) -> Guard:
        names = {f"{host}:{port}"}
        if host in ("127.0.0.1", "localhost"):
            names |= {f"127.0.0.1:{port}", f"localhost:{port}"}
        return cls(allowed_hosts=frozenset(names), cookie_name=f"{COOKIE_PREFIX}{port}")

    def host_ok(self, host_header: str | None) -> bool:
        return host_header is not None and host_header.strip().lower() in self.allowed_hosts

    def exchange(self, offered: str) -> tuple[str, str] | None:
        """A new session (id, CSRF token) for the one-time token; None if wrong or already used."""
        with self._lock:
            if self.token is None or not hmac.compare_digest(offered.encode(), self.token.encode()):
                return None
            self.token = None
            session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            self._sessions[session] = csrf
            return session, csrf

    def session(self, cookie_header: str | None) -> str | None:
        """The session id of a request's cookie, if it is one this server opened."""
        if not cookie_header:
            return None
        try:
            jar = SimpleCookie(cookie_header)
        except CookieError:
            return None
        morsel = jar.get(self.cookie_name)
        if morsel is None:
            return None
        with self._lock:
            return morsel.value if morsel.value in self._sessions else None

    def csrf(self, session: str) -> str:
        with self._lock:
            return self._sessions[session]

    def csrf_ok(self, session: str, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), self.csrf(session).encode())

    def cookie(self, session: str) -> str:
        """The ``Set-Cookie`` value that opens ``session`` in a browser."""
        return f"{self.cookie_name}={session}; HttpOnly; SameSite=Strict; Path=/"
