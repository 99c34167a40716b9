"""How harmone answers the return to the training regime, with the model meter, over seeds.

Each built-in stream ends by returning to the regime the models were first trained on. For
each profile and seeds 0-9, harmone runs the whole test stream with the default settings
and the deterministic model meter; the answer to the last drift it detects (the return) is
recorded: a retraining, a reuse of a stored version, or keeping the serving version because
it fits (or because the candidate would be worse). Deterministic: a rerun on one machine gives
the same file; on another, the same answers (floats within 1e-9: BLAS kernels differ by processor).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from harmone import experiment, lifecycle
from harmone.energy.model import ModelMeter, load_energy_model
from harmone.workspace import Workspace

PROFILES = ("default", "alt", "pems")
SEEDS = range(10)
#: LSTM epochs of the first training (the answers concern the cheap kinds; 10 keeps it quick).
LSTM_EPOCHS = 10


def _answers(root: Path, profile: str, seed: int) -> list[tuple[str, str]]:
    workspace, _ = Workspace.init(root / f"{profile}-{seed}")
    text = workspace.config_path.read_text(encoding="utf-8").replace("epochs = 50", f"epochs = {LSTM_EPOCHS}")
    workspace.config_path.write_text(text, encoding="utf-8")
    workspace = Workspace.open(workspace.root)
    lifecycle.use_builtin_stream(workspace, seed=seed, profile=profile)
    lifecycle.train_initial(workspace, list(workspace.config.stream.models), seed=seed)
    runs = experiment.run_experiment(workspace, workspace.root / "out", approaches=["harmone"], seed=seed,
                                     meter=ModelMeter(load_energy_model()))
    return [(e.action.value, e.decision.value) for e in runs[0].summary.events
            if e.loop == "drift" and e.drift_detected]


def run() -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="harmone-return-"))
    try:
        runs = [{"profile": profile, "seed": seed, "answers": _answers(root, profile, seed)}
                for profile in PROFILES for seed in SEEDS]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    last = Counter(run["answers"][-1][1] if run["answers"] else "no-drift-found" for run in runs)
    existing = sum(1 for run in runs if run["answers"] and run["answers"][-1][0] != "retrain")
    return {"runs": runs, "return_answers": dict(last), "answered_by_an_existing_version": existing,
            "of": len(runs)}
