"""`harmone plugins`: what the installed packages provide, built-ins included."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("plugins", parents=[common],
                              help="list the tasks, model kinds, detectors and policies of the installed packages")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_plugins)


def cmd_plugins(args: argparse.Namespace) -> int:
    from harmone.plugins import installed, to_record

    plugins = installed()
    if args.json:
        print(json.dumps([to_record(plugin) for plugin in plugins], indent=2))
        return 0
    print(f"{'NAME':<16} {'GROUP':<18} PACKAGE")
    for plugin in plugins:
        package = f"{plugin.package} {plugin.version}".strip() or "(registered in code)"
        print(f"{plugin.name:<16} {plugin.group:<18} {package}")
    return 0
