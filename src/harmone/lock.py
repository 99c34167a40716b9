"""One writer per workspace: the inference lock and the manager lock.

`harmone infer` holds the inference lock, `harmone manage` the manager lock and `harmone
run` both, for as long as they run. Commands that would change what those use (`reset`,
`train`, `data import/synth/drift`) take both for their duration, so they refuse while a
stream runs, and a stream refuses to start while they work.

A lock is an ``fcntl.flock`` on ``knowledge/.<name>.lock``; the file names the holder's
pid and command. The kernel drops the lock when its holder dies, however it dies, so a
lock left by a killed process is stale by construction: the next taker gets it and
rewrites the holder. Within one process a lock is re-entrant (a ``run`` session and the
library calls it makes share it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harmone.errors import WorkspaceError

INFERENCE = "inference"
MANAGER = "manager"
#: Every lock of a workspace, in the order they are taken.
LOCK_NAMES: tuple[str, ...] = (INFERENCE, MANAGER)
#: What each lock means to a reader of an error message.
_HOLDER_ROLE = {INFERENCE: "inference", MANAGER: "the managing system"}


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: its process id and command line (as the holder wrote them)."""

    name: str
    pid: int
    command: str

    def describe(self) -> str:
        return f"`{self.command}` (pid {self.pid})"


def lock_path(knowledge_dir: Path, name: str) -> Path:
    return Path(knowledge_dir) / f".{name}.lock"


# Locks this process holds: path -> (open file descriptor, holders count).
_held: dict[str, tuple[int, int]] = {}
_guard = threading.Lock()


def _command() -> str:
    argv = [os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
    if argv[0] in {"__main__.py", "-m", "-c"}:
        argv[0] = "harmone"
    text = " ".join(argv)
    return text if len(text) <= 120 else text[:117] + "..."


def _read_holder(path: Path, name: str) -> Holder | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    first, _, rest = text.partition("\n")
    try:
        pid = int(first.strip())
    except ValueError:
        return None
    return Holder(name, pid, rest.strip() or "?")


def _acquire(path: Path, name: str, purpose: str) -> None:
    key = os.fspath(path.resolve())
    with _guard:
        if key in _held:
            fd, count = _held[key]
            _held[key] = (fd, count + 1)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _read_holder(path, name)
            who = holder.describe() if holder is not None else "another process"
            raise WorkspaceError(f"{path.parent.parent}: {purpose} refused: {who} is running {_HOLDER_ROLE[name]}"
                                 f" on this workspace (stop it first)") from None
        except OSError as exc:
            os.close(fd)
            raise WorkspaceError(f"{path}: cannot take the {name} lock ({exc})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{_command()}\n".encode("utf-8", "replace"), 0)
        _held[key] = (fd, 1)


def _release(path: Path) -> None:
    key = os.fspath(path.resolve())
    with _guard:
        fd, count = _held[key]
        if count > 1:
            _held[key] = (fd, count - 1)
            return
        del _held[key]
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing drops the flock


@contextmanager
def hold(knowledge_dir: Path, names: Sequence[str], purpose: str) -> Iterator[None]:
    """Hold the named locks for the block; refuse with a one-line error naming a running holder."""
    taken: list[Path] = []
    try:
        for name in names:
            path = lock_path(knowledge_dir, name)
            _acquire(path, name, purpose)
            taken.append(path)
        yield
    finally:
        for path in reversed(taken):
            _release(path)


def exclusive(knowledge_dir: Path, purpose: str) -> contextlib.AbstractContextManager[None]:
    """Both locks: for commands that change the data or models a running stream uses."""
    return hold(knowledge_dir, LOCK_NAMES, purpose)


def holders(knowledge_dir: Path) -> dict[str, Holder | None]:
    """Who holds each lock now (None: free); a lock left by a dead process counts as free.

    Reads without blocking: a lock nobody holds is taken and released at once to tell.
    """
    found: dict[str, Holder | None] = {}
    for name in LOCK_NAMES:
        path = lock_path(knowledge_dir, name)
        found[name] = None
        if not path.is_file():
            continue
        if os.fspath(path.resolve()) in _held:
            found[name] = Holder(name, os.getpid(), _command())
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            found[name] = _read_holder(path, name) or Holder(name, 0, "?")
        finally:
            os.close(fd)
    return found


def describe_holders(knowledge_dir: Path) -> str:
    """``held by `harmone infer` (pid 12)``, or a note that no HarmonE process holds a lock."""
    running = [h for h in holders(knowledge_dir).values() if h is not None]
    if not running:
        return "no `harmone infer`, `manage` or `run` holds this workspace"
    return "held by " + ", ".join(dict.fromkeys(h.describe() for h in running))
