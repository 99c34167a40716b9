"""A small classification workspace built with the library: the digits stream, the short preset's
loop timings (so every loop acts within 2 160 records), logistic regression trained."""

from __future__ import annotations

from pathlib import Path

from harmone import atomic, lifecycle
from harmone import config as config_mod
from harmone.cadence import with_preset
from harmone.data import digits
from harmone.workspace import Workspace


def digits_workspace(root: Path, *, records: int = 2400, seed: int = 1) -> Workspace:
    workspace, _ = Workspace.init(root, "classification")
    stream = digits.generate(records, seed, train_ratio=0.1)
    lifecycle.use_labelled(workspace, stream.train, stream.test)
    atomic.write_text(workspace.config_path, config_mod.render(with_preset(workspace.config, "short")))
    workspace = Workspace.open(root)
    lifecycle.train_initial(workspace, ["logistic"])
    workspace.write_active_model("logistic")
    return workspace
