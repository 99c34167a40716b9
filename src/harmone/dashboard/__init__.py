"""A local web dashboard for one workspace: watch the knowledge base live and steer the deployment.

``server`` holds one dashboard and serves its Starlette application (``app``) with uvicorn;
``middleware`` guards every request (security headers, Host check, one-time token and
cookie, CSRF) and gives every request an answer; ``views`` reads what the pages show
(read-only), with ``history`` keeping what needs the whole history (the History chart,
energy per model, counters) and ``explain`` putting decisions and schedules into words;
``actions`` changes the workspace on an operator's request and records each change as an
event; ``runs`` starts and stops ``infer`` and ``manage`` as isolated child processes;
``metrics`` serves ``/metrics`` for Prometheus.
"""

from harmone.dashboard.server import Dashboard, serve

__all__ = ["Dashboard", "serve"]
