"""Start and stop ``harmone infer`` and ``harmone manage`` for the workspace as child processes.

The children are the same commands a user types, so they take whatever lock the workspace
has and handle SIGTERM as they do on the command line (stop between two predictions, keep
what was logged). They are started by ``harmone.child``: this interpreter by its absolute
path, isolated imports, the workspace by its absolute path and a neutral working directory,
so a relative workspace path works and nothing in the workspace can run in them. Only these
two commands, with options checked against one declaration each, can be started: nothing
the page sends becomes code or an arbitrary argument.

A start answers once the child has taken its workspace lock and is still running a moment
later, or with the child's own error line when it exits first (a stream at its end, a lock
held by someone else), so the page never reports a run that failed as started.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmone import child, lock
from harmone.errors import HarmonEError

#: The commands the page may run, and the workspace lock each takes.
COMMANDS = {"infer": lock.INFERENCE, "manage": lock.MANAGER}
#: Seconds a child has to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 15.0
#: Seconds a start waits for the child to take its lock (or to fail) before answering anyway.
START_TIMEOUT_S = 30.0
#: Seconds a child must keep running after taking its lock to count as started.
SETTLE_S = 0.5
_POLL_S = 0.05


class RunError(HarmonEError):
    """A start or stop the page asked for cannot be done."""


@dataclass(frozen=True)
class Option:
    """One option the page may pass: its flag, its type and its range, and which commands take it."""

    flag: str
    kind: type
    commands: tuple[str, ...]
    lo: float = 0.0
    hi: float = math.inf
    #: The lower bound itself is not allowed (a time scale of 0).
    lo_open: bool = False

    def argv(self, name: str, value: Any) -> list[str]:
        if self.kind is bool:
            if not isinstance(value, bool):
                raise RunError(f"{name} {value!r} must be true or false")
            return [self.flag] if value else []
        number_ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if self.kind is int:
            number_ok = number_ok and isinstance(value, int)
        low_ok = number_ok and (value > self.lo if self.lo_open else value >= self.lo)
        if not (low_ok and value <= self.hi):
            what = "a whole number" if self.kind is int else "a number"
            bound = f"above {self.lo:g}" if self.lo_open else f"from {self.lo:g}"
            raise RunError(f"{name} {value!r} must be {what} {bound} to {self.hi:g}")
        return [self.flag, str(value) if self.kind is int else repr(float(value))]


#: Every option of the page's run control, checked the same way.
OPTIONS: dict[str, Option] = {
    "interval": Option("--interval", float, ("infer",), 0.0, 3600.0),
    "steps": Option("--steps", int, ("infer",), 1, 10**9),
    "from_start": Option("--from-start", bool, ("infer",)),
    "time_scale": Option("--time-scale", float, ("infer", "manage"), 0.0, 10_000.0, lo_open=True),
}


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    log: Path
    args: list[str]
    time_scale: float


class RunControl:
    """The children this dashboard started, one per command at a time."""

    def __init__(self, workspace_root: Path) -> None:
        # Absolute once, here: the dashboard's own working directory may be anywhere later.
        self.root = Path(workspace_root).resolve()
        self._children: dict[str, _Child] = {}
        self._lock = threading.Lock()
        self._logs: Path | None = None  # made at the first start, removed by close()

    def arguments(self, command: str, options: dict[str, Any]) -> list[str]:
        """The child's ``harmone`` arguments from the checked options."""
        if command not in COMMANDS:
            raise RunError(f"cannot run {command!r} (only: {', '.join(COMMANDS)})")
        args = [command, "-w", str(self.root)] + (["--quiet"] if command == "infer" else [])
        for name, value in options.items():
            option = OPTIONS.get(name)
            if option is None or command not in option.commands:
                takes = ", ".join(n for n, o in OPTIONS.items() if command in o.commands)
                raise RunError(f"{command} takes no option {name!r} (it takes: {takes})")
            if value not in (None, ""):
                args += option.argv(name, value)
        return args

    def time_scale(self, command: str) -> float | None:
        """The time scale of a running child this dashboard started."""
        found = self._children.get(command)
        return found.time_scale if found is not None and found.process.poll() is None else None

    def start(self, command: str, options: dict[str, Any]) -> dict[str, Any]:
        options = dict(options)
        if command == "manage" and options.get("time_scale") in (None, ""):
            # The managing system follows inference's pace when the page runs both.
            options["time_scale"] = self.time_scale("infer")
        args = self.arguments(command, options)
        with self._lock:
            running = self._children.get(command)
            if running is not None and running.process.poll() is None:
                raise RunError(f"{command} is already running (pid {running.process.pid})")
            if self._logs is None:
                self._logs = Path(tempfile.mkdtemp(prefix="harmone-dashboard-runs-"))
            log = self._logs / f"{command}.log"
            with open(log, "wb") as handle:
                process = child.start(child.cli_command(*args), stdout=handle, stderr=subprocess.STDOUT)
            scale = options.get("time_scale")
            started = _Child(process, log, args, float(scale) if scale not in (None, "") else 1.0)
            self._children[command] = started
        self._await_start(command, started)
        return self.describe(command)

    def _await_start(self, command: str, started: _Child) -> None:
        """Return once the child holds its lock and keeps running; RunError when it fails first."""
        deadline = time.monotonic() + START_TIMEOUT_S
        held_since: float | None = None
        knowledge = self.root / "knowledge"
        while time.monotonic() < deadline:
            code = started.process.poll()
            if code is not None:
                if code != 0:
                    last = _tail(started.log).strip().splitlines()
                    raise RunError(f"{command} exited with code {code}: {last[-1] if last else 'no output'}")
                return  # done already (a few steps)
            if held_since is None:
                holder = lock.holders(knowledge).get(COMMANDS[command])
                if holder is not None and holder.pid == started.process.pid:
                    held_since = time.monotonic()
            elif time.monotonic() - held_since >= SETTLE_S:
                return
            time.sleep(_POLL_S)

    def stop(self, command: str) -> dict[str, Any]:
        with self._lock:
            running = self._children.get(command)
        if running is None or running.process.poll() is not None:
            raise RunError(f"{command} is not running from this dashboard")
        running.process.send_signal(signal.SIGTERM)
        try:
            running.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait()
        return self.describe(command)

    def describe(self, command: str) -> dict[str, Any]:
        found = self._children.get(command)
        if found is None:
            return {"command": command, "running": False, "pid": None, "exit_code": None, "output": "",
                    "time_scale": None}
        code = found.process.poll()
        return {"command": command, "running": code is None, "pid": found.process.pid, "exit_code": code,
                "args": found.args, "output": _tail(found.log), "time_scale": found.time_scale}

    def state(self) -> dict[str, Any]:
        return {"runs": [self.describe(command) for command in COMMANDS],
                "options": {name: {"commands": list(o.commands), "type": o.kind.__name__, "lo": o.lo,
                                   "hi": None if math.isinf(o.hi) else o.hi}
                            for name, o in OPTIONS.items()}}

    def close(self) -> None:
        """Stop every child still running (the dashboard is shutting down) and remove their logs."""
        for command in COMMANDS:
            found = self._children.get(command)
            if found is not None and found.process.poll() is None:
                try:
                    self.stop(command)
                except RunError:
                    pass
        if self._logs is not None:
            shutil.rmtree(self._logs, ignore_errors=True)


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(os.path.getsize(path) - limit, 0))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
