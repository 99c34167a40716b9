"""How long a retraining child outlives its SIGKILLed manager.

A manager process (the ``SubprocessRetrainer`` a live ``harmone manage`` uses) starts a real
retraining child (LSTM, so it spends seconds importing torch and training); after a seeded
random delay the manager is SIGKILLed, and ``/proc`` is polled every half millisecond: when
the child stopped (the kernel's SIGKILL is pending or it is exiting: it runs no more code of
its own) and when it was gone (its exit complete: a killed process with torch's threads can
take a while to be torn down on a busy machine). docs/reliability.md quotes the figures.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks import faults
from harmone.testing import process_alive, process_stopped

#: Kills measured.
KILLS = 20
#: The kill falls this many seconds after the child started, drawn uniformly.
DELAY_S = (0.3, 2.5)
#: Give up waiting for a child after this long (it would count as outliving by that much).
TIMEOUT_S = 10.0


def _one(workspace: Path, delay_s: float) -> tuple[float, float]:
    """Seconds from the manager's SIGKILL until its child stopped, and until it was gone."""
    manager = textwrap.dedent(f"""
        import time
        import numpy as np
        from harmone.mape.execute import RetrainRequest, SubprocessRetrainer
        from harmone.workspace import Workspace
        job = SubprocessRetrainer(Workspace.open({str(workspace)!r})).submit(
            RetrainRequest(kind="lstm", values=np.linspace(100, 400, 3000), reason="periodic", seed=0))
        print(job.pid, flush=True)
        time.sleep(120)
    """)
    env = {**os.environ, "PYTHONPATH": str(faults.SRC)}
    process = subprocess.Popen([sys.executable, "-c", manager], stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    child = int(process.stdout.readline())
    time.sleep(delay_s)
    process.kill()
    killed = time.monotonic()
    stopped = None
    while process_alive(child) and time.monotonic() - killed < TIMEOUT_S:
        if stopped is None and process_stopped(child):
            stopped = time.monotonic() - killed
        time.sleep(0.0005)
    gone = time.monotonic() - killed
    process.communicate()
    return (gone if stopped is None else stopped), gone


def run() -> dict[str, object]:
    rng = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="harmone-watchdog-") as tmp:
        workspace = faults.make_template(Path(tmp))
        delays = [rng.uniform(*DELAY_S) for _ in range(KILLS)]
        measured = [_one(workspace, delay) for delay in delays]
    def figures(values_s: list[float]) -> dict[str, object]:
        ms = sorted(round(v * 1000, 2) for v in values_s)
        return {"max": ms[-1], "median": round(statistics.median(ms), 2),
                "p95": ms[max(0, int(round(0.95 * len(ms))) - 1)], "over_100_ms": sum(1 for m in ms if m > 100)}

    return {
        "kills": KILLS,
        "delay_after_child_start_s": list(DELAY_S),
        # Stopped: SIGKILL pending or exiting, so the child runs no more code; gone: exit complete.
        "child_stopped_after_manager_kill_ms": figures([stopped for stopped, _ in measured]),
        "child_gone_after_manager_kill_ms": figures([gone for _, gone in measured]),
        "kills_in_order": [{"delay_s": round(delay, 3), "stopped_ms": round(stopped * 1000, 2),
                            "gone_ms": round(gone * 1000, 2)}
                           for delay, (stopped, gone) in zip(delays, measured)],
    }
