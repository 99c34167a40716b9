"""The bad-input corpus's harness: cases, a trained workspace with history, lock holders, a runner.

Every case runs the real ``harmone`` command line (``harmone.cli.main``, the function
``python -m harmone`` calls) in its own process, on a copy of a trained workspace whose
knowledge base holds predictions, events and loop state, and asserts what a user would
see: a non-zero exit, exactly one line on stderr (no traceback, no warning before the
error), the expected words in it, and the workspace byte for byte as before (every file:
the knowledge base, the data, the models, the versions, the config; only the lock files,
which the holder writes, are left out).

Speed: a process per case costs the interpreter's start and the imports (0.35 s here) before
the command does anything. The runner forks each case from a process that imported HarmonE
once (``_ZYGOTE``), so a case costs what its command costs; ``run_process`` runs the same
argv through ``python -m harmone`` and a test checks that both agree.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

#: setup(ws, tmp): prepares the copy of the workspace and the scratch folder beside it.
Setup = Callable[[Path, Path], None]
#: Lock names as ``harmone.lock`` spells them.
INFERENCE, MANAGER = "inference", "manager"
BOTH = (INFERENCE, MANAGER)


@dataclass(frozen=True)
class Case:
    """``argv`` may hold ``{ws}`` (the workspace) and ``{tmp}`` (a scratch folder beside it).

    ``locks``: held by another process while the command runs. ``kept``: paths (templated)
    whose file type must be the same afterwards (a FIFO stays a FIFO). ``close_stdout``: the
    command starts with standard output closed (``>&-``).
    """

    id: str
    argv: tuple[str, ...]
    setup: Setup | None = None
    expect: str = ""
    defect: str | None = None
    locks: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    close_stdout: bool = False


def params(cases: list[Case]) -> list:
    """pytest parameters, ids unique; a case with a known defect is a strict xfail."""
    ids = [case.id for case in cases]
    assert len(set(ids)) == len(ids), sorted({i for i in ids if ids.count(i) > 1})
    marks = lambda case: [pytest.mark.xfail(strict=True, reason=case.defect)] if case.defect else []  # noqa: E731
    return [pytest.param(case, id=case.id, marks=marks(case)) for case in cases]


# -- setups ----------------------------------------------------------------------------------

def series(n: int = 200, *, bad: str | None = None, at: int = 100, head: str = "value") -> str:
    values = [f"{100 + (i % 17) * 3.5}" for i in range(n)]
    if bad is not None:
        values[at] = bad
    return head + "\n" + "\n".join(values) + "\n"


def file(text: str | bytes, name: str = "in.csv") -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        (tmp / name).write_bytes(data)
    return setup


def replace_in(relative: str, old: str | bytes, new: str | bytes) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        path = ws / relative
        data = path.read_bytes()
        old_b = old.encode() if isinstance(old, str) else old
        new_b = new.encode() if isinstance(new, str) else new
        assert old_b in data, f"{old_b!r} not in {relative}"
        path.write_bytes(data.replace(old_b, new_b, 1))
    return setup


def write(relative: str, data: bytes) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        (ws / relative).resolve().write_bytes(data)
    return setup


def remove(relative: str) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        path = ws / relative
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return setup


def folder(relative: str) -> Setup:
    """Replace a file of the workspace by an empty folder of the same name."""
    def setup(ws: Path, tmp: Path) -> None:
        (ws / relative).unlink()
        (ws / relative).mkdir()
    return setup


def set_state(key: str, raw_value: str) -> Setup:
    """Store ``raw_value`` verbatim (not JSON-encoded) as a knowledge-base state value."""
    def setup(ws: Path, tmp: Path) -> None:
        db = sqlite3.connect(ws / "knowledge" / "knowledge.db")
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, raw_value))
        db.close()
    return setup


def delete_state(key: str) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        db = sqlite3.connect(ws / "knowledge" / "knowledge.db")
        with db:
            db.execute("DELETE FROM state WHERE key = ?", (key,))
        db.close()
    return setup


def append(relative: str, text: str) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        with open(ws / relative, "a", encoding="utf-8") as handle:
            handle.write(text)
    return setup


def both(*setups: Setup) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        for one in setups:
            one(ws, tmp)
    return setup


def fifo(name: str) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        os.mkfifo(tmp / name)
    return setup


def unix_socket(name: str) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(tmp / name))
    return setup


def device(name: str, major: int = 1, minor: int = 3) -> Setup:
    """A character device node in the scratch folder (1:3 is /dev/null, 1:7 /dev/full): a real
    device to refuse, without putting the machine's own /dev at stake."""
    def setup(ws: Path, tmp: Path) -> None:
        try:
            os.mknod(tmp / name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        except PermissionError:
            pytest.skip("creating a device node needs root")
    return setup


def link(name: str, target: str) -> Setup:
    """A link ``{tmp}/name`` to ``target`` (templated like argv)."""
    def setup(ws: Path, tmp: Path) -> None:
        os.symlink(target.replace("{ws}", str(ws)).replace("{tmp}", str(tmp)), tmp / name)
    return setup


def other_workspace(ws: Path, tmp: Path) -> None:
    """A second workspace beside the scratch folder, with a knowledge base of its own."""
    other = tmp / "other"
    shutil.copytree(ws, other, symlinks=True)


# -- what a command may not change --------------------------------------------------------------

def _digest(path: Path) -> str:
    if path.is_symlink():
        return "link:" + os.readlink(path)
    mode = path.lstat().st_mode
    if stat.S_ISREG(mode):
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if stat.S_ISDIR(mode):
        return "dir"
    return f"type:{stat.S_IFMT(mode):o}"


def stored_state(ws: Path) -> dict[str, str]:
    """A digest of every file of the workspace (links by their target), keyed by relative path.

    The knowledge base is a file like the others (compared byte for byte); lock files are
    left out: the process holding a lock writes its name there.
    """
    state = {}
    for top, dirs, files in os.walk(ws):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(top) / name
            if name.endswith(".lock") and path.parent.name == "knowledge":
                continue
            state[str(path.relative_to(ws))] = _digest(path)
    return state


def file_types(paths: list[Path]) -> dict[str, str]:
    return {str(p): (f"{stat.S_IFMT(p.lstat().st_mode):o}" if os.path.lexists(p) else "absent") for p in paths}


# -- lock holders --------------------------------------------------------------------------------

_HOLDER = """
import sys
from pathlib import Path
from harmone import lock
with lock.hold(Path(sys.argv[1]), sys.argv[2:], "holding"):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def holding(knowledge_dir: Path, names: tuple[str, ...]) -> Iterator[None]:
    """Another process holds ``names`` on the workspace for the block (like a running infer or manage)."""
    if not names:
        yield
        return
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(knowledge_dir), *names], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=clean_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate(timeout=30)  # closes its stdin (it lets go) and its stdout


# -- running the command ------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in {"HARMONE_WORKSPACE", "HARMONE_DEBUG"}}


#: A process that imports HarmonE once, then forks one child per request to run ``main(argv)``
#: with its own working directory, environment and standard streams.
_ZYGOTE = r"""
import json, os, signal, sys, time, traceback
import numpy
import harmone.cli
for name in ("harmone.runner", "harmone.status", "harmone.data.importer", "harmone.data.drift",
             "harmone.mape.state", "harmone.lifecycle", "harmone.experiment"):
    __import__(name)
harmone.cli.build_parser()
requests = os.fdopen(os.dup(0), "rb", buffering=0)
replies = os.fdopen(os.dup(1), "w")
replies.write("ready\n"); replies.flush()
while True:
    line = b""
    while not line.endswith(b"\n"):
        chunk = requests.read(1)
        if not chunk:
            sys.exit(0)
        line += chunk
    request = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            os.setpgid(0, 0)
            os.chdir(request["cwd"])
            os.environ.clear(); os.environ.update(request["env"])
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
            os.dup2(os.open(request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
            sys.stdin = open(0, "r", closefd=False)
            if request["close_stdout"]:
                os.close(1)
                sys.stdout = None
            sys.argv = ["harmone", *request["argv"]]
            try:
                code = harmone.cli.main(request["argv"])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    if stream is not None:
                        stream.flush()
                except Exception:
                    pass
            os._exit(code)
    deadline = time.monotonic() + request["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            done, status = os.waitpid(pid, 0)
            break
        time.sleep(0.002)
    replies.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n"); replies.flush()
"""


class Harmone:
    """Runs ``harmone ARGV`` in a fresh process, forked from one that imported HarmonE already."""

    def __init__(self) -> None:
        self._scratch = Path(tempfile.mkdtemp(prefix="harmone-corpus-"))
        self._zygote = subprocess.Popen([sys.executable, "-c", _ZYGOTE], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=clean_env(), cwd=self._scratch)
        assert self._zygote.stdout is not None and self._zygote.stdout.readline().strip() == "ready"

    def run(self, argv: list[str], cwd: Path, *, close_stdout: bool = False, timeout_s: float = 120) -> Result:
        out, err = self._scratch / "out", self._scratch / "err"
        request = {"argv": argv, "cwd": str(cwd), "env": clean_env(), "out": str(out), "err": str(err),
                   "close_stdout": close_stdout, "timeout": timeout_s}
        assert self._zygote.stdin is not None and self._zygote.stdout is not None
        self._zygote.stdin.write(json.dumps(request) + "\n")
        self._zygote.stdin.flush()
        reply = json.loads(self._zygote.stdout.readline())
        return Result(reply["code"], out.read_text(errors="replace"), err.read_text(errors="replace"))

    @staticmethod
    def run_process(argv: list[str], cwd: Path, *, close_stdout: bool = False, timeout_s: float = 120) -> Result:
        """The same through ``python -m harmone``, for the check that the fast way agrees."""
        preexec = (lambda: os.close(1)) if close_stdout else None
        result = subprocess.run([sys.executable, "-m", "harmone", *argv], cwd=cwd, env=clean_env(), text=True,
                                capture_output=True, timeout=timeout_s, stdin=subprocess.DEVNULL,
                                preexec_fn=preexec)
        return Result(result.returncode, result.stdout, result.stderr)

    def close(self) -> None:
        self._zygote.communicate(timeout=30)
        shutil.rmtree(self._scratch, ignore_errors=True)


# -- the check every case makes -----------------------------------------------------------------

def expand(text: str, ws: Path, tmp: Path) -> str:
    return text.replace("{ws}", str(ws)).replace("{tmp}", str(tmp))


def prepare(case: Case, trained: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the trained workspace and a scratch folder, set up for ``case``."""
    ws = tmp_path / "ws"
    shutil.copytree(trained, ws, symlinks=True)
    scratch = tmp_path / "in"
    scratch.mkdir()
    if case.setup is not None:
        case.setup(ws, scratch)
    return ws, scratch


def check_refused(case: Case, trained: Path, tmp_path: Path, harmone: Harmone) -> None:
    """Run ``case``: refused in one line naming the problem, and nothing of the workspace changed."""
    ws, scratch = prepare(case, trained, tmp_path)
    kept = [Path(expand(p, ws, scratch)) for p in case.kept]
    types = file_types(kept)
    argv = [expand(part, ws, scratch) for part in case.argv]
    with holding(ws / "knowledge", case.locks):
        before = stored_state(ws)
        result = harmone.run(argv, tmp_path, close_stdout=case.close_stdout)
        after = stored_state(ws)
    assert result.returncode != 0, f"accepted (exit 0): {result.stdout[-400:]}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("harmone"), lines[0]
    assert case.expect in lines[0]
    changed = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    assert not changed, f"changed: {changed}"
    assert file_types(kept) == types


def trained_workspace_with_history(root: Path) -> Path:
    """linear and svm trained, and a run of the harmone approach logged: predictions, events, loop state."""
    from conftest import make_workspace

    from harmone import lifecycle
    from harmone.energy.fake import FakeMeter
    from harmone.runner import run_approach

    workspace = make_workspace(root, n=1500)
    lifecycle.train_initial(workspace, ["linear", "svm"])
    workspace.write_active_model("linear")
    run_approach(workspace, "harmone", steps=300, seed=0, simulate=True, meter=FakeMeter())
    workspace.write_active_model("linear")
    return root
