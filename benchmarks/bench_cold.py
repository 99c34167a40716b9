"""Where the CPU of a live prediction goes: the same work, back to back and after the stream's wait.

`harmone infer` sleeps between predictions (0.15 s at the published cadence, 7.5 ms at 20x).
After such a wait the same Python and numpy work costs several times its back-to-back CPU
time: caches and TLB entries are gone (in a VM, the host runs other work on the core), so
every first touch misses. This benchmark times, in thread CPU time (what the estimator
meters), each part of a serving step separately after an idle gap of 0, 7.5 ms and 150 ms:

- ``meter_reads``: two readings of the meter and nothing between (the metering floor);
- ``model_check``: which model and version serve (a stat of model.csv and a readlink);
- ``predict``: one prediction of each kind, the window already in hand;
- ``step``: a whole engine step as `infer` makes it (check when due, predict, log);
- ``sleep_process_cpu``: the process CPU that one ``time.sleep`` of the gap itself costs
  (kernel and interpreter, outside every metered window).

Medians over ``SAMPLES`` predictions per gap. CPU-time figures of this machine; the load
average before and after is in the result file.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harmone import lifecycle
from harmone.clock import WallClock
from harmone.energy.fake import FakeMeter
from harmone.repository import ModelRepository
from harmone.session import Session
from harmone.workspace import Workspace

GAPS_S = (0.0, 0.0075, 0.15)
SAMPLES = {0.0: 2000, 0.0075: 400, 0.15: 60}
KINDS = ("persistence", "linear", "svm", "lstm")


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="harmone-cold-") as scratch:
        workspace, _ = Workspace.init(Path(scratch) / "ws")
        lifecycle.use_builtin_stream(workspace, seed=0)
        lifecycle.train_initial(workspace, KINDS)
        return {f"gap_{gap * 1000:g}ms": _at_gap(workspace, gap, SAMPLES[gap]) for gap in GAPS_S}


def _at_gap(workspace: Workspace, gap_s: float, samples: int) -> dict[str, Any]:
    repository = ModelRepository(workspace)
    window = [300.0, 310.0, 305.0, 320.0, 330.0]
    follower = workspace.follow_active_model()
    figures: dict[str, Any] = {
        "meter_reads": _median_us(lambda: None, gap_s, samples),
        "model_check": _median_us(lambda: (follower.read(), repository.active_version("linear")), gap_s, samples),
        "predict": {kind: _median_us(lambda m=repository.load_active(kind): m.predict_next(window), gap_s, samples)
                    for kind in KINDS},
        "sleep_process_cpu": _sleep_cpu_us(gap_s, samples),
    }
    workspace.write_active_model("linear")
    with Session(workspace, meter=FakeMeter(), clock=WallClock()) as session:
        engine = session.start_engine(from_start=True)
        figures["step_linear"] = _median_us(engine.step, gap_s, samples)
    return figures


def _median_us(work: Callable[[], object], gap_s: float, samples: int) -> float:
    """Median thread CPU µs of ``work`` run after ``gap_s`` idle seconds."""
    cpu = time.thread_time
    spent = []
    for _ in range(samples):
        if gap_s:
            time.sleep(gap_s)
        start = cpu()
        work()
        spent.append(cpu() - start)
    return round(statistics.median(spent) * 1e6, 2)


def _sleep_cpu_us(gap_s: float, samples: int) -> float:
    start = time.process_time()
    for _ in range(samples):
        time.sleep(gap_s)
    return round((time.process_time() - start) / samples * 1e6, 2)
