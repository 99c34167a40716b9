"""The command-line face of HarmonE: parse, call the library, print. No logic lives here.

Each command group is one module in this package with a ``register(subparsers)`` function
that adds its sub-commands and sets ``handler`` to a function taking the parsed arguments
and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from harmone import __version__
from harmone.errors import HarmonEError

#: Command-group modules, in the order their commands appear in ``--help``.
COMMAND_MODULES = (
    "workspace_cmds",
    "data_cmds",
    "train_cmds",
    "infer_cmds",
    "energy_cmds",
    "manage_cmds",
    "run_cmds",
    "experiment_cmds",
)


def workspace_dir(args: argparse.Namespace) -> Path:
    """The workspace named by ``-w``, else ``HARMONE_WORKSPACE``, else the current directory."""
    if getattr(args, "workspace", None):
        return Path(args.workspace)
    return Path(os.environ.get("HARMONE_WORKSPACE") or ".")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harmone",
        description="Self-adaptive MLOps: keep a streaming inference pipeline accurate and frugal with energy.",
    )
    parser.add_argument("--version", action="version", version=f"harmone {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-w", "--workspace", metavar="DIR",
                        help="workspace directory (default: $HARMONE_WORKSPACE or the current directory)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        module.register(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except HarmonEError as exc:
        print(f"harmone: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("harmone: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
