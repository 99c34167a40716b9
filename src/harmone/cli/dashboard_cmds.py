"""`harmone dashboard`: serve the workspace's web dashboard on this machine."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harmone.cli import workspace_dir
from harmone.cli.args import bounded_int
from harmone.workspace import Workspace

LOOPBACK = ("127.0.0.1", "localhost")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("dashboard", parents=[common],
                              help="watch and steer the workspace in a browser (local web dashboard)")
    p.add_argument("--port", type=bounded_int(0, 65535), default=8765, help="port to serve on (default 8765)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to serve on (default 127.0.0.1; another needs --i-know-this-exposes-it)")
    p.add_argument("--i-know-this-exposes-it", dest="expose", action="store_true",
                   help="allow --host to be an address other machines can reach")
    p.set_defaults(handler=cmd_dashboard)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from harmone.dashboard import serve
    from harmone.errors import HarmonEError

    if args.host not in LOOPBACK:
        if not args.expose:
            raise HarmonEError(f"--host {args.host} lets other machines reach the dashboard; "
                               f"add --i-know-this-exposes-it to do so")
        print(f"harmone: warning: serving on {args.host}: anyone who can reach it and has the link can steer "
              f"this workspace", file=sys.stderr)
    workspace = Workspace.open(workspace_dir(args))
    try:
        serve(workspace, args.host, args.port)
    except OSError as exc:
        raise HarmonEError(f"cannot serve on {args.host}:{args.port} ({exc.strerror or exc})") from None
    return 0
