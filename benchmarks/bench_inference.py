"""Per-prediction cost of the streaming engine (predict + log), and the serving process's memory.

Each round drives the engine through the session's drive loop (the one `harmone infer`
and `harmone run` use), so the figure holds everything a served prediction costs:
checking which model is active, windowing, scaling, predicting, metering, buffering and
logging with the stream position.

Targets (medians, this 2-core machine): linear and svm <= 12 µs, lstm <= 80 µs per
prediction with logging and metering; serving linear or svm must not import torch and
stay <= 150 MiB.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harmone import lifecycle
from harmone.clock import SimulatedClock
from harmone.energy.detect import detect
from harmone.session import Session
from harmone.workspace import Workspace

ROUNDS = 5
STEPS_PER_ROUND = 4000

_MEMORY_PROBE = """
import sys, json
from harmone.session import Session
from harmone.workspace import Workspace
ws = Workspace.open(sys.argv[1])
ws.write_active_model(sys.argv[2])
with Session(ws) as session:
    session.start_engine(from_start=True)
    session.drive(5000)
# VmHWM is this process's own peak (ru_maxrss would inherit the parent's peak across fork+exec).
hwm_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak_rss_mib": round(hwm_kib / 1024, 1),
                  "torch_imported": "torch" in sys.modules, "sklearn_imported": "sklearn" in sys.modules}))
"""


def _workspace(root: Path) -> Workspace:
    workspace, _ = Workspace.init(root)
    lifecycle.use_builtin_stream(workspace, seed=0)
    return workspace


def _per_prediction_us(workspace: Workspace, kind: str) -> dict[str, float]:
    workspace.write_active_model(kind)
    samples = []
    with detect(workspace.config.energy) as meter, Session(workspace, meter=meter, clock=SimulatedClock()) as session:
        engine = session.start_engine(from_start=True)
        session.drive(500)  # warm-up: load the model, fill caches
        for _ in range(ROUNDS):
            engine.restart()
            started = time.perf_counter()
            session.drive(STEPS_PER_ROUND)
            samples.append((time.perf_counter() - started) / STEPS_PER_ROUND * 1e6)
    return {"median_us": round(statistics.median(samples), 2), "min_us": round(min(samples), 2),
            "max_us": round(max(samples), 2)}


def run() -> dict[str, Any]:
    result: dict[str, Any] = {"per_prediction_with_logging": {}, "serving_memory": {}}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = _workspace(Path(tmp) / "ws")
        started = time.perf_counter()
        rows = lifecycle.train_initial(workspace, lifecycle.parse_kinds(None))
        result["initial_training_s"] = {
            "total": round(time.perf_counter() - started, 2),
            **{row["model"]: round(row["train_time_s"], 2) for row in rows},
        }
        for kind in ("linear", "svm", "lstm"):
            result["per_prediction_with_logging"][kind] = _per_prediction_us(workspace, kind)
        for kind in ("linear", "svm"):
            out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(workspace.root), kind],
                                 check=True, capture_output=True, text=True)
            result["serving_memory"][kind] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
