"""Start and stop ``harmone infer`` and ``harmone manage`` for the workspace as child processes.

The children are the same commands a user types, so they take whatever lock the workspace
has and handle SIGTERM as they do on the command line (stop between two predictions, keep
what was logged). Only these two commands, with checked numeric options, can be started:
nothing the page sends becomes code or an arbitrary argument.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmone.errors import HarmonEError

#: The commands the page may run.
COMMANDS = ("infer", "manage")
#: Seconds a child has to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 15.0


class RunError(HarmonEError):
    """A start or stop the page asked for cannot be done."""


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    log: Path
    args: list[str]


class RunControl:
    """The children this dashboard started, one per command at a time."""

    def __init__(self, workspace_root: Path) -> None:
        self.root = Path(workspace_root)
        self._children: dict[str, _Child] = {}
        self._lock = threading.Lock()
        self._logs = Path(tempfile.mkdtemp(prefix="harmone-dashboard-runs-"))

    def command_line(self, command: str, options: dict[str, Any]) -> list[str]:
        """The child's argv from the checked options (interval and steps, both numbers)."""
        if command not in COMMANDS:
            raise RunError(f"cannot run {command!r} (only: {', '.join(COMMANDS)})")
        argv = [sys.executable, "-m", "harmone", command, "-w", str(self.root)]
        if command == "infer":
            argv.append("--quiet")
            interval = options.get("interval")
            if interval not in (None, ""):
                if not isinstance(interval, (int, float)) or isinstance(interval, bool) or not 0 <= interval <= 3600:
                    raise RunError(f"interval {interval!r} must be a number of seconds from 0 to 3600")
                argv += ["--interval", repr(float(interval))]
            steps = options.get("steps")
            if steps not in (None, ""):
                if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
                    raise RunError(f"steps {steps!r} must be a whole number of at least 1")
                argv += ["--steps", str(steps)]
        return argv

    def start(self, command: str, options: dict[str, Any]) -> dict[str, Any]:
        argv = self.command_line(command, options)
        with self._lock:
            child = self._children.get(command)
            if child is not None and child.process.poll() is None:
                raise RunError(f"{command} is already running (pid {child.process.pid})")
            log = self._logs / f"{command}.log"
            with open(log, "wb") as handle:
                process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
                                           cwd=self.root, start_new_session=True)
            self._children[command] = _Child(process, log, argv[3:])
        return self.describe(command)

    def stop(self, command: str) -> dict[str, Any]:
        with self._lock:
            child = self._children.get(command)
        if child is None or child.process.poll() is not None:
            raise RunError(f"{command} is not running from this dashboard")
        child.process.send_signal(signal.SIGTERM)
        try:
            child.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
        return self.describe(command)

    def describe(self, command: str) -> dict[str, Any]:
        child = self._children.get(command)
        if child is None:
            return {"command": command, "running": False, "pid": None, "exit_code": None, "output": ""}
        code = child.process.poll()
        return {"command": command, "running": code is None, "pid": child.process.pid, "exit_code": code,
                "args": child.args, "output": _tail(child.log)}

    def state(self) -> dict[str, Any]:
        return {"runs": [self.describe(command) for command in COMMANDS]}

    def close(self) -> None:
        """Stop every child still running (the dashboard is shutting down)."""
        for command in COMMANDS:
            child = self._children.get(command)
            if child is not None and child.process.poll() is None:
                try:
                    self.stop(command)
                except RunError:
                    pass


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(os.path.getsize(path) - limit, 0))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
