"""Live serving: `harmone infer` and `harmone manage` as two real processes, beside a simulated replay.

Replays with the model meter compare approaches; what users run is the live two-process
mode, where the energy the switch loop decides on is measured while serving. For each
built-in stream and time scale this benchmark builds a workspace (`data synth`, `train`,
which calibrates energy, `approach harmone`), copies it, then:

- live: starts `harmone infer --time-scale K` and `harmone manage --time-scale K --seed S`
  as two processes for a fixed number of real seconds, then stops both with SIGINT;
- simulated: in the copy, `harmone run --simulate --meter calibrated --seed S --steps N` over
  the same N predictions: each prediction charged its kind's calibrated energy, as replays
  charge them (loop runs and retrainings at the packaged energy model's costs).

From both it reads the knowledge base: decisions by kind, the share of predictions per
model (and the costliest kind's, the LSTM's, share after the first switch), energy per
prediction split into the model's own work and the serving overhead, and each model's
median normalised energy over the switch runs that judged it. For the live `infer` it also
reads the process's own CPU time from /proc between two moments of steady serving, per
prediction (`infer_cpu_us`), against the engine's metered step (model + overhead). Result
files written before the key was named generically hold the costliest kind's share as
``lstm_share_after_first_switch``.

Figures are CPU-time estimates on this machine (no RAPL in this VM); the load average
before and after is in the result file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harmone.knowledge import KnowledgeStore
from harmone.report.serving import summarise
from harmone.workspace import Workspace

#: (stream profile, time scale, real seconds of live serving).
RUNS = (("default", 20.0, 100.0), ("alt", 20.0, 100.0), ("pems", 20.0, 100.0), ("default", 1.0, 240.0))
SEED = 1
#: Real seconds after the start before the CPU of `infer` is sampled (imports and loading done).
WARM_S = 5.0


def run() -> dict[str, Any]:
    results = []
    for profile, scale, seconds in RUNS:
        with tempfile.TemporaryDirectory(prefix="harmone-live-") as scratch:
            results.append(live_vs_simulated(Path(scratch), profile, scale, seconds))
        print(f"{profile} x{scale:g}: {_headline(results[-1])}", flush=True)
    return {"seed": SEED, "runs": results}


def live_vs_simulated(scratch: Path, profile: str, scale: float, seconds: float) -> dict[str, Any]:
    live_root, sim_root = scratch / "live", scratch / "simulated"
    _harmone("init", "-w", str(live_root))
    _harmone("data", "synth", "--profile", profile, "-w", str(live_root))
    _harmone("train", "-w", str(live_root))
    _harmone("approach", "harmone", "-w", str(live_root))
    shutil.copytree(live_root, sim_root, symlinks=True)
    cpu = serve_live(live_root, scale, seconds)
    live = summarise(Workspace.open(live_root))
    _harmone("run", "--simulate", "--meter", "calibrated", "--seed", str(SEED), "--steps", str(live["predictions"]),
             "--quiet", "-w", str(sim_root))
    simulated = summarise(Workspace.open(sim_root))
    return {"stream": profile, "time_scale": scale, "real_seconds": seconds, "live": {**live, **cpu},
            "simulated": simulated}


def serve_live(root: Path, scale: float, seconds: float) -> dict[str, Any]:
    """Run infer and manage side by side; the infer process's CPU per prediction in steady serving."""
    command = [sys.executable, "-m", "harmone"]
    manage = subprocess.Popen([*command, "manage", "--time-scale", repr(scale), "--seed", str(SEED), "-w", str(root)],
                              stdout=subprocess.DEVNULL)
    infer = subprocess.Popen([*command, "infer", "--time-scale", repr(scale), "--quiet", "-w", str(root)],
                             stdout=subprocess.DEVNULL)
    try:
        time.sleep(WARM_S)
        cpu_before, rows_before = _cpu_s(infer.pid), _rows(root)
        time.sleep(seconds - WARM_S)
        cpu_after, rows_after = _cpu_s(infer.pid), _rows(root)
    finally:
        for process in (infer, manage):
            process.send_signal(signal.SIGINT)
        for process in (infer, manage):
            if process.wait(timeout=60) != 0:
                raise RuntimeError(f"{process.args[3]} exited {process.returncode}")
    served = max(1, rows_after - rows_before)
    return {"infer_cpu_us": (cpu_after - cpu_before) / served * 1e6, "infer_cpu_rows": served}


def _headline(result: dict[str, Any]) -> str:
    live, sim = result["live"], result["simulated"]
    return (f"{live['predictions']} predictions; linear e live {live['median_normalised_energy'].get('linear')}"
            f" vs simulated {sim['median_normalised_energy'].get('linear')}; {live['costliest_kind']} share after"
            f" first switch {live['costliest_share_after_first_switch']};"
            f" infer CPU {live['infer_cpu_us']:.1f} µs/prediction")


def _harmone(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "harmone", *args], check=True, stdout=subprocess.DEVNULL)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rows(root: Path) -> int:
    with KnowledgeStore.open_readonly(root / "knowledge" / "knowledge.db") as store:
        return store.count_predictions()
