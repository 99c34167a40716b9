"""Same seed, other processor kernels: what a seeded replay keeps and what moves in its last bits.

OpenBLAS (under NumPy, SciPy and scikit-learn) picks its kernels by processor, and so do MKL
and ATen inside torch; `make test` from a fresh clone once failed on another machine by one
unit in the last place. This reruns one seeded replay with each kernel forced, each in a fresh
process that also trains the models, as a fresh clone on another machine would: the built-in
stream, linear, svm and lstm (3 epochs) trained, then harmone with the fake meter and seed 3
over the whole test stream. Each record (every event, and the run's R²) is compared with the
run under the machine's own kernels: are the decisions, models, versions and counts the same,
how many floats moved, and by how much at most (relative). ``harmone.testing`` allows 1e-9.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: Environment of each rerun: which kernels it forces.
VARIANTS: dict[str, dict[str, str]] = {
    "own": {},
    "own-again": {},
    "one-thread": {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    "SkylakeX": {"OPENBLAS_CORETYPE": "SkylakeX"},
    "Haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    "Sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "Nehalem": {"OPENBLAS_CORETYPE": "Nehalem"},
    "Prescott": {"OPENBLAS_CORETYPE": "Prescott"},
    "torch-avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "torch-portable": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"},
    "all-portable": {"OPENBLAS_CORETYPE": "Nehalem", "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"},
}
SEED = 3
LSTM_EPOCHS = 3
ROOT = Path(__file__).resolve().parent.parent


def replay(root: Path) -> dict[str, Any]:
    """Train and run in a fresh workspace at ``root`` (in this process, with its kernels)."""
    import torch

    from harmone import lifecycle
    from harmone.runner import run_approach
    from harmone.testing import FakeMeter
    from harmone.workspace import Workspace

    workspace, _ = Workspace.init(root)
    text = workspace.config_path.read_text(encoding="utf-8")
    workspace.config_path.write_text(text.replace('meter = "auto"', 'meter = "fake"')
                                     .replace("epochs = 50", f"epochs = {LSTM_EPOCHS}"), encoding="utf-8")
    workspace = Workspace.open(root)
    lifecycle.use_builtin_stream(workspace, seed=0)
    lifecycle.train_initial(workspace, ["linear", "svm", "lstm"])
    result = run_approach(workspace, "harmone", seed=SEED, meter=FakeMeter())
    try:
        from threadpoolctl import threadpool_info

        blas = sorted({str(info.get("architecture")) for info in threadpool_info()
                       if info["internal_api"] == "openblas"})
    except ImportError:
        blas = []
    return {"record": {"events": [event.to_dict() for event in result.events], "r2": result.r2},
            "kernels": {"openblas": blas, "torch": torch.backends.cpu.get_cpu_capability()}}


def _child(env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        code = ("import json, sys; from pathlib import Path; from benchmarks.bench_kernels import replay; "
                "print(json.dumps(replay(Path(sys.argv[1]))))")
        out = subprocess.run([sys.executable, "-c", code, str(Path(scratch) / "ws")], cwd=ROOT,
                             env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def _compare(got: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    from harmone.testing import floats_agree, record_differences

    moved: list[tuple[float, str]] = []
    other = []
    for path, mine, theirs in record_differences(got, want):
        if floats_agree(mine, theirs, rel=1e-3):  # a float that moved; 1e-3 only to tell it from a real change
            moved.append((abs(mine - theirs) / max(abs(theirs), 1e-300), path))
        else:
            other.append(f"{path}: {mine!r} != {theirs!r}")
    largest = max(moved, default=(0.0, None))
    return {"same_decisions": not other, "other_differences": other[:5], "floats_moved": len(moved),
            "max_relative_difference": largest[0], "where": largest[1],
            "beyond_1e-9": sorted({_kind_of(path) for d, path in moved if d > 1e-9}),
            "within_1e-9": not other and largest[0] <= 1e-9}


def _kind_of(path: str) -> str:
    """A moved float's place without its event number: ``events[].observed.per_model.lstm.r2``."""
    import re

    return re.sub(r"\[\d+\]", "[]", path)


def run() -> dict[str, Any]:
    runs = {name: _child(env) for name, env in VARIANTS.items()}
    reference = runs["own"]["record"]
    events = reference["events"]
    floats = sum(1 for _ in _leaves(reference) if isinstance(_, float))
    return {
        "replay": {"stream": "built-in, seed 0", "approach": "harmone", "seed": SEED, "meter": "fake",
                   "kinds": ["linear", "svm", "lstm"], "lstm_epochs": LSTM_EPOCHS, "events": len(events),
                   "floats": floats, "decisions": sorted({e["decision"] for e in events})},
        "variants": {name: {"env": VARIANTS[name], "kernels": result["kernels"],
                            **_compare(result["record"], reference)} for name, result in runs.items()},
    }


def _leaves(value: Any) -> Any:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value
