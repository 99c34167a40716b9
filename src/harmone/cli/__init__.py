"""The command-line face of HarmonE: parse, call the library, print. No logic lives here.

Each command group is one module in this package with a ``register(subparsers)`` function
that adds its sub-commands and sets ``handler`` to a function taking the parsed arguments
and returning an exit code.

``main`` is the boundary: whatever goes wrong ends as one line on stderr and a non-zero
exit (``--debug`` or ``HARMONE_DEBUG=1`` adds the traceback); a reader that closes the pipe
early (``harmone infer | head -1``) ends the command quietly with exit 0.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys
import traceback
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
    "dashboard_cmds",
    "plugin_cmds",
)


def workspace_dir(args: argparse.Namespace) -> Path:
    """The workspace named by ``-w``, else ``HARMONE_WORKSPACE``, else the current directory."""
    if getattr(args, "workspace", None):
        return Path(args.workspace)
    return Path(os.environ.get("HARMONE_WORKSPACE") or ".")


def confirmed(question: str, refusal: str) -> bool:
    """Ask ``question`` on the terminal; without one, a one-line error ``refusal`` (pass --yes)."""
    if sys.stdin is None or not sys.stdin.isatty():
        raise HarmonEError(f"{refusal} without confirmation: stdin is not a terminal (pass --yes)")
    return input(f"{question} [y/N] ").strip().lower() in {"y", "yes"}


#: Environment variable that turns on tracebacks, like ``--debug``.
DEBUG_ENV = "HARMONE_DEBUG"
_DEBUG_HELP = f"show the traceback of an error (or set {DEBUG_ENV}=1)"


class OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error; ``--help`` still shows the usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="harmone",
        description="Self-adaptive MLOps: keep a streaming inference pipeline accurate and frugal with energy.",
    )
    parser.add_argument("--version", action="version", version=f"harmone {__version__}")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-w", "--workspace", metavar="DIR",
                        help="workspace directory (default: $HARMONE_WORKSPACE or the current directory)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
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


def _debug_wanted(argv: list[str]) -> bool:
    if os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return True
    options = argv[:argv.index("--")] if "--" in argv else argv  # after "--" it would be a value
    return "--debug" in options


def _command_name(args: argparse.Namespace | None) -> str:
    if args is None:
        return "harmone"
    words = [getattr(args, "command", None), getattr(args, "data_command", None)]
    return "harmone " + " ".join(w for w in words if w)


def _knowledge_base(args: argparse.Namespace | None) -> Path:
    from harmone.workspace import Workspace

    return Workspace(workspace_dir(args) if args is not None else Path(".")).db_path


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the exit-time flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _report(line: str, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    try:
        print(line, file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):  # stderr closed too: nothing left to tell
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure is one line on stderr and a non-zero exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_wanted(argv)
    args = None
    if sys.stdout is None:  # started with `>&-`: whatever the command prints would be lost
        _report("harmone: error: standard output is closed; redirect it to a file or /dev/null instead", False)
        return 1
    try:
        args = build_parser().parse_args(argv)
        code = int(args.handler(args) or 0)
        sys.stdout.flush()
        return code
    except HarmonEError as exc:
        _report(f"harmone: error: {exc}", debug)
        return 1
    except KeyboardInterrupt:
        _report("harmone: interrupted", False)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except sqlite3.DatabaseError as exc:  # found while reading: the file opened but its pages are not sound
        _report(f"harmone: error: {_knowledge_base(args)}: the knowledge base is damaged ({exc}); restore a copy,"
                f" or move it aside to start a new one", debug)
        return 1
    except OSError as exc:  # a file the command needs cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        _report(f"harmone: error: {where}{exc.strerror or exc} ({_command_name(args)} stopped)", debug)
        return 1
    except Exception as exc:  # the boundary: anything unforeseen still ends in one line
        detail = " ".join(str(exc).split()) or "no detail"
        _report(f"harmone: error: {_command_name(args)} failed: {type(exc).__name__}: {detail} "
                f"(unexpected; run again with --debug or {DEBUG_ENV}=1 for the traceback)", debug)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
