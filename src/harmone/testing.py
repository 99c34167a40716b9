"""Fakes that ship with HarmonE, so tests (ours and users') need no hardware, wall time or training run.

- ``FakeMeter`` / ``ReplayMeter``: energy that moves only when told to, or replays readings.
- ``SimulatedClock``: time that moves only when told to.
- ``memory_store()``: a ``KnowledgeStore`` in memory (the same class and SQL, no file).
- ``small_workspace(root)``: a workspace with a seeded series and tiny trained linear and svm
  models, built in well under a second, so a loop or session test needs no trained workspace
  on disk beforehand.
- ``assert_same_record(got, want)``: a run's JSON record against one pinned on another
  machine: names, decisions and counts exactly, floats within ``ACROSS_MACHINES_REL``.

Why a tolerance: OpenBLAS picks its kernels by processor (MKL, inside torch, does too), so
the same seeded run gives the same decisions but floats that differ in the last bits from
one processor to the next. Reruns on one machine are identical, and tests that compare two
runs in one process may ask for that; a record pinned in a file meets other machines.
- ``process_alive(pid)`` / ``process_stopped(pid)``: what ``/proc`` says of a process, for
  tests and benchmarks of the processes HarmonE starts and ends (Linux).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harmone.clock import SimulatedClock
from harmone.energy.fake import FakeMeter, ReplayMeter
from harmone.knowledge import KnowledgeStore
from harmone.workspace import Workspace

__all__ = ["ACROSS_MACHINES_REL", "FakeMeter", "ReplayMeter", "SimulatedClock", "assert_same_record", "floats_agree",
           "memory_store", "process_alive", "process_stopped", "record_differences", "seeded_series",
           "small_workspace"]

#: ``PF_EXITING`` in the flags of ``/proc/<pid>/stat``: the process is tearing down.
_PF_EXITING = 0x4
#: SIGKILL's bit in the pending-signal masks of ``/proc/<pid>/status``.
_SIGKILL_BIT = 1 << 8

#: SQLite's name for a database that lives only as long as its connection.
MEMORY = ":memory:"
#: Relative difference within which floats of one seeded run agree across processors.
ACROSS_MACHINES_REL = 1e-9
#: Absolute difference below which two floats agree, for values that should be zero.
ACROSS_MACHINES_ABS = 1e-12


def memory_store() -> KnowledgeStore:
    """A knowledge store in memory: predictions, events and state, gone when closed."""
    return KnowledgeStore(Path(MEMORY))


def seeded_series(n: int = 1200, seed: int = 0) -> np.ndarray:
    """A traffic-like series: a daily cycle of 288 steps plus seeded noise, never negative."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    daily = 200 + 150 * np.sin(2 * np.pi * t / 288) + 60 * np.sin(4 * np.pi * t / 288)
    return np.clip(daily + rng.normal(0, 15, n), 0, None)


def small_workspace(root: Path, *, n: int = 1200, seed: int = 0, kinds: Sequence[str] = ("linear", "svm"),
                    active: str = "linear", meter: str = "fake") -> Workspace:
    """A workspace at ``root``: ``n`` seeded values (30 % train), ``kinds`` trained, ``active`` serving.

    The meter defaults to the fake one, so runs in it are deterministic for a seed.
    """
    from harmone import lifecycle
    from harmone import config as config_mod

    workspace, _ = Workspace.init(Path(root))
    text = workspace.config_path.read_text(encoding="utf-8").replace('meter = "auto"', f'meter = "{meter}"')
    workspace.config_path.write_text(text, encoding="utf-8")
    config_mod.load(workspace.config_path)  # the edit must leave a valid config
    workspace = Workspace.open(workspace.root)
    lifecycle.use_series(workspace, seeded_series(n, seed), train_ratio=0.3)
    lifecycle.train_initial(workspace, list(kinds), seed=seed)
    workspace.write_active_model(active)
    return workspace


def record_differences(got: Any, want: Any, where: str = "record") -> Iterator[tuple[str, Any, Any]]:
    """Every place where two JSON values differ at all, as (path, got, want), in document order.

    Other keys or another length is one difference (the key lists or the lengths); a float
    that differs in its last bit is one too (``assert_same_record`` decides what is equal).
    """
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        if set(got) != set(want):
            yield where, sorted(map(str, got)), sorted(map(str, want))
            return
        for key in want:
            yield from record_differences(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        if len(got) != len(want):
            yield f"{where} (length)", len(got), len(want)
            return
        for i, (mine, theirs) in enumerate(zip(got, want)):
            yield from record_differences(mine, theirs, f"{where}[{i}]")
    elif type(got) is not type(want) or got != want:
        yield where, got, want


def floats_agree(got: Any, want: Any, rel: float = ACROSS_MACHINES_REL) -> bool:
    """Two numbers, one of them a float, within ``rel`` of each other (or ``ACROSS_MACHINES_ABS`` near zero)."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (got, want))
    return (numbers and (isinstance(got, float) or isinstance(want, float))
            and math.isclose(got, want, rel_tol=rel, abs_tol=ACROSS_MACHINES_ABS))


def assert_same_record(got: Any, want: Any, *, rel: float = ACROSS_MACHINES_REL, where: str = "record") -> None:
    """``got`` is ``want`` (JSON values: tables, lists, text, numbers, booleans, null), floats aside.

    Keys, lengths, text, booleans, null and whole numbers must be equal; floats agree within
    ``rel`` (``floats_agree``). The ``AssertionError`` names the path of the first difference,
    e.g. ``record[12].observed.r2``.
    """
    for path, mine, theirs in record_differences(got, want, where):
        if not floats_agree(mine, theirs, rel):
            raise AssertionError(f"{path}: {mine!r} != {theirs!r}"
                                 + (f" (beyond a relative {rel:g})" if isinstance(theirs, float) else ""))


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def process_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (its exit is not complete)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def process_stopped(pid: int) -> bool:
    """Whether ``pid`` runs no more code of its own: gone, a zombie, exiting, or with SIGKILL pending.

    A killed process may take a while to be torn down (every thread scheduled once, its
    memory freed) while doing nothing more; this tells that moment apart from its exit.
    """
    fields = _stat_fields(pid)
    if fields is None or fields[0] in {"Z", "X"} or int(fields[6]) & _PF_EXITING:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    pending = 0
    for line in status.splitlines():
        if line.startswith(("SigPnd:", "ShdPnd:")):
            pending |= int(line.split()[1], 16)
    return bool(pending & _SIGKILL_BIT)
