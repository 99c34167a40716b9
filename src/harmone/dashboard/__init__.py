"""A local web dashboard for one workspace: watch the knowledge base live and steer the deployment.

``server`` serves the page and the JSON/stream endpoints with the standard library;
``auth`` guards every request (one-time token, cookie, Host check, CSRF); ``views`` reads
what the pages show (read-only); ``actions`` changes the workspace on an operator's
request and records each change as an event; ``runs`` starts and stops ``infer`` and
``manage`` as child processes; ``metrics`` serves ``/metrics`` for Prometheus.
"""

from harmone.dashboard.server import Dashboard, serve

__all__ = ["Dashboard", "serve"]
