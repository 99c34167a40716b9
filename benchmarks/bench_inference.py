"""Per-prediction cost of the streaming engine (predict + log), and the serving process's memory.

Targets (medians, this 2-core machine): linear and svm <= 50 µs, lstm <= 300 µs per
prediction with logging; serving linear or svm must not import torch and stay <= 150 MiB.
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
from harmone.inference import InferenceEngine
from harmone.knowledge import KnowledgeStore
from harmone.energy.detect import detect
from harmone.workspace import Workspace

ROUNDS = 5
STEPS_PER_ROUND = 4000

_MEMORY_PROBE = """
import sys, json
from harmone.clock import SimulatedClock
from harmone.energy.detect import detect
from harmone.inference import InferenceEngine
from harmone.knowledge import KnowledgeStore
from harmone.workspace import Workspace
ws = Workspace.open(sys.argv[1])
ws.write_active_model(sys.argv[2])
with KnowledgeStore(ws.db_path) as store:
    engine = InferenceEngine(ws, store=store, meter=detect(ws.config.energy), clock=SimulatedClock())
    engine.run(5000)
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
    with KnowledgeStore(workspace.db_path) as store:
        engine = InferenceEngine(workspace, store=store, meter=detect(workspace.config.energy), clock=SimulatedClock())
        engine.run(500)  # warm-up: load the model, fill caches
        for _ in range(ROUNDS):
            engine.restart()
            started = time.perf_counter()
            engine.run(STEPS_PER_ROUND)
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
