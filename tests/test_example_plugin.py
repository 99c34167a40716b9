"""The example plugin package (examples/harmone-example-plugin), installed by `make test`: its model
kind trains, serves and gets baselines; its policy runs in `harmone run` and in a matrix beside
HarmonE's approaches."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest

from harmone.approaches import APPROACHES
from harmone.matrix import Cell, CellOptions, run_matrix
from harmone.models import kinds, model_class
from harmone.workspace import Workspace

from conftest import FAST_CONFIG, edit_config
from test_cli import harmone

try:
    metadata.distribution("harmone-example-plugin")
except metadata.PackageNotFoundError:
    pytest.skip("the example plugin is not installed (`make test` installs it: "
                "pip install -e examples/harmone-example-plugin)", allow_module_level=True)

#: Serve the plugin's kind beside linear and persistence.
SERVED = {'models = ["lstm", "svm", "linear", "persistence"]': 'models = ["linear", "ewma", "persistence"]',
          'default_model = "lstm"': 'default_model = "linear"'}


def test_the_plugin_kind_and_policy_are_registered_with_their_baselines() -> None:
    assert "ewma" in kinds() and model_class("ewma").task == "forecasting"
    assert APPROACHES["single-ewma"].fixed_model == "ewma" and APPROACHES["single-ewma+retrain"].runs("retrain")
    assert APPROACHES["greedy-ema"].policy == "greedy-ema" and APPROACHES["greedy-ema"].loops == {"switch"}


def test_the_plugin_kind_trains_and_serves_and_its_policy_runs(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    harmone("init", "-w", str(ws), cwd=tmp_path)
    edit_config(Workspace.open(ws), {**FAST_CONFIG, **SERVED})
    harmone("data", "synth", "-w", str(ws), "--steps", "24000", cwd=tmp_path)
    trained = harmone("train", "-w", str(ws), "--models", "ewma,linear,persistence", cwd=tmp_path)
    assert "ewma" in trained.stdout
    for approach in ("single-ewma", "greedy-ema"):
        run = harmone("run", "-w", str(ws), "--approach", approach, "--simulate", "--steps", "900", "--json",
                      cwd=tmp_path)
        summary = json.loads(run.stdout)
        assert summary["approach"] == approach
    events = json.loads(harmone("events", "-w", str(ws), "--json", cwd=tmp_path).stdout)
    assert any(e["loop"] == "switch" for e in events)


def test_the_plugin_policy_and_kind_run_in_a_matrix_beside_harmones_approaches(tmp_path: Path) -> None:
    workspace, _ = Workspace.init(tmp_path / "cfg")
    edit_config(workspace, {**FAST_CONFIG, **SERVED})
    approaches = ("harmone", "single-linear", "bandit", "greedy-ema", "single-ewma", "single-ewma+retrain")
    # The reference energy model knows only HarmonE's kinds: a plugin kind is metered (docs/plugins.md).
    options = CellOptions(approaches=approaches, steps=600, meter="measured",
                          config_text=workspace.config_path.read_text(encoding="utf-8"))
    run = run_matrix([Cell("default", 1)], options, tmp_path / "m", workers=1)
    assert run.ran == ["default__seed1"] and not run.failed, run.failed
    record = json.loads((tmp_path / "m" / "cells" / "default__seed1.json").read_text())
    assert set(record["approaches"]) == set(approaches)
