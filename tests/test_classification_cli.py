"""The classification task end to end through the real command line, in a temporary workspace."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from test_cli import harmone

from harmone.workspace import Workspace


@pytest.fixture(scope="module")
def digits_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digits")
    harmone("init", "-w", "ws", cwd=root)
    synth = harmone("data", "synth", "-w", "ws", "--profile", "digits", "--steps", "2400", "--seed", "1", cwd=root)
    assert "task = 'classification'" in synth.stdout and "rotation" in synth.stdout
    harmone("train", "-w", "ws", "--seed", "1", cwd=root)
    return root / "ws"


def test_init_data_train_run_status_and_events_on_the_image_stream(digits_workspace: Path) -> None:
    root = digits_workspace.parent
    toml = (digits_workspace / "harmone.toml").read_text()
    assert 'task = "classification"' in toml and 'default_model = "cnn-large"' in toml
    run = harmone("run", "-w", "ws", "--approach", "harmone", "--simulate", "--seed", "1", cwd=root)
    assert "accuracy" in run.stdout
    status = json.loads(harmone("status", "-w", "ws", "--json", cwd=root).stdout)
    assert status["predictions"] == 2400 - 240 and 0.5 < status["recent_r2"] <= 1.0
    assert "recent accuracy" in harmone("status", "-w", "ws", cwd=root).stdout
    events = harmone("events", "-w", "ws", "--json", cwd=root).stdout
    assert events.strip()


def test_a_forecasting_kind_cannot_be_trained_on_records(digits_workspace: Path) -> None:
    refused = harmone("train", "-w", "ws", "--models", "linear", cwd=digits_workspace.parent, check=False)
    assert refused.returncode != 0 and "classification" in refused.stderr and len(refused.stderr.splitlines()) == 1


def test_a_labelled_csv_imports_and_runs_end_to_end(tmp_path: Path) -> None:
    from sklearn.datasets import load_wine

    wine = load_wine()
    order = np.random.default_rng(0).permutation(len(wine.target))  # file order mixes the classes
    header = ",".join([*(name.replace("/", "_") for name in wine.feature_names), "cultivar"])
    rows = [",".join([*(repr(float(v)) for v in wine.data[i]), f"c{wine.target[i]}"]) for i in order]
    (tmp_path / "wine.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    harmone("init", "-w", "ws", cwd=tmp_path)
    imported = harmone("data", "import", "-w", "ws", "wine.csv", "--label", "cultivar", "--train-ratio", "0.5",
                       cwd=tmp_path)
    assert "3 classes" in imported.stdout
    harmone("train", "-w", "ws", "--models", "logistic", cwd=tmp_path)
    harmone("approach", "-w", "ws", "single-logistic", cwd=tmp_path)
    harmone("run", "-w", "ws", "--approach", "single-logistic", "--simulate", cwd=tmp_path)
    status = json.loads(harmone("status", "-w", "ws", "--json", cwd=tmp_path).stdout)
    assert status["predictions"] == len(order) - len(order) // 2 and status["recent_r2"] > 0.8


def test_a_workspace_with_forecasting_versions_refuses_the_image_stream(trained_workspace) -> None:
    refused = harmone("data", "synth", "-w", str(trained_workspace.root), "--profile", "digits",
                      cwd=trained_workspace.root.parent, check=False)
    assert refused.returncode != 0 and "harmone init --task classification" in refused.stderr


# -- what the commands say on a classification stream -----------------------------------------

@pytest.fixture(scope="module")
def small_digits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A library-built digits workspace (logistic, short loop timings) and `harmone run`'s output on it."""
    from classification_helpers import digits_workspace

    from harmone.cli import main

    root = digits_workspace(tmp_path_factory.mktemp("small-digits") / "ws").root
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["run", "-w", str(root), "--approach", "harmone", "--simulate", "--seed", "1", "--quiet"]) == 0
    return root, printed.getvalue()


def _says(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    from harmone.cli import main

    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_run_events_and_status_name_accuracy_and_error_rate_not_r2(small_digits: tuple[Path, str],
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root, run = small_digits
    scores = next(line for line in run.splitlines() if line.strip().startswith("scores:"))
    assert "accuracy 0." in scores and "error rate 0." in scores and "R²" not in run and "MAE" not in run
    events = _says(capsys, "events", "-w", str(root))
    assert "new version held-out accuracy 0." in events and "accuracy 0." in events
    assert "R²" not in events and "persistence" not in events
    status = _says(capsys, "status", "-w", str(root))
    detector = Workspace.open(root).config.drift.detector
    assert "recent accuracy:" in status and "R²" not in status and f"drift:  last {detector} score " in status


def test_approach_lists_only_the_approaches_of_the_tasks_kinds(small_digits: tuple[Path, str],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = small_digits
    listed = [line[2:].split()[0] for line in _says(capsys, "approach", "-w", str(root)).splitlines()]
    assert listed[:3] == ["harmone", "switch", "switch+retrain"]
    assert {"single-logistic", "single-cnn-small+retrain", "single-cnn-large"} <= set(listed)
    assert not [name for name in listed if any(kind in name for kind in ("lstm", "svm", "linear", "persistence",
                                                                          "seasonal"))]
