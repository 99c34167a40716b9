"""Shared fixtures: small seeded workspaces, so tests run in seconds without the real stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.register_assert_rewrite("corpus_harness")  # its checks explain themselves like a test's

from harmone.workspace import Workspace

#: Config edits that keep training fast in tests (the LSTM trains 2 epochs).
FAST_CONFIG = {"epochs = 50": "epochs = 2"}
#: Config edits that give linear and svm the published representation and hyperparameters
#: (min-max inputs, fixed alpha / C and tol), for tests that pin exact model outputs.
PUBLISHED_MODELS = {'inputs = "relative"\nselect = "validation"': 'inputs = "minmax"\nselect = "fixed"',
                    "tol = 0.001": "tol = 0.16", 'solver = "liblinear"': 'solver = "libsvm"'}
#: Config edits that give the loops their published timings in seconds and the published R²
#: switch score (the defaults are the same timings in predictions, and the skill score):
#: tests of the loops' mechanics and the pinned run are written against these.
PUBLISHED_LOOPS = {"interval_steps = 267\n": "interval_s = 40.0\n", "interval_steps = 20\n": "interval_s = 3.0\n",
                   "warmup_steps = 2667\n": "warmup_s = 400.0\n", "cooldown_steps = 2667\n": "cooldown_s = 400.0\n",
                   "interval_steps = 3333\n": "interval_s = 500.0\n", 'score = "skill"': 'score = "r2"',
                   "min_score = 0.0\n": "min_score = 0.78\n"}


def seasonal_series(n: int, seed: int = 0) -> np.ndarray:
    """A traffic-like series: a daily cycle of 288 steps plus noise, never negative."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    daily = 200 + 150 * np.sin(2 * np.pi * t / 288) + 60 * np.sin(4 * np.pi * t / 288)
    return np.clip(daily + rng.normal(0, 15, n), 0, None)


def crash_on_replace(monkeypatch: pytest.MonkeyPatch, fail_at: int) -> None:
    """Make the ``fail_at``-th ``os.replace`` from now raise ``OSError("disk gone")``, like a crash there."""
    import os

    real_replace = os.replace
    calls = []

    def crashing_replace(src: str, dst: object) -> None:
        calls.append(dst)
        if len(calls) == fail_at:
            raise OSError("disk gone")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crashing_replace)


def edit_config(workspace: Workspace, edits: dict[str, str]) -> None:
    """Replace exact lines of the rendered harmone.toml (each must occur)."""
    text = workspace.config_path.read_text(encoding="utf-8")
    for old, new in edits.items():
        assert old in text, f"{old!r} not in harmone.toml"
        text = text.replace(old, new)
    workspace.config_path.write_text(text, encoding="utf-8")


def make_workspace(root: Path, *, n: int = 3000, seed: int = 0,
                   config_edits: dict[str, str] = FAST_CONFIG) -> Workspace:
    workspace, _ = Workspace.init(root)
    edit_config(workspace, {**PUBLISHED_LOOPS, **config_edits})
    workspace = Workspace.open(root)
    from harmone import lifecycle

    lifecycle.use_series(workspace, seasonal_series(n, seed), train_ratio=0.3)
    return workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws")


@pytest.fixture
def trained_workspace(tmp_path: Path) -> Workspace:
    """A workspace with linear and svm trained (version 1 of each, linear active)."""
    from harmone import lifecycle

    workspace = make_workspace(tmp_path / "ws")
    lifecycle.train_initial(workspace, ["linear", "svm"])
    workspace.write_active_model("linear")
    return workspace


@pytest.fixture(scope="session")
def corpus_trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bad-input corpus's workspace: trained, with predictions, events and loop state (read-only: cases copy it)."""
    from corpus_harness import trained_workspace_with_history

    return trained_workspace_with_history(tmp_path_factory.mktemp("corpus") / "ws")


@pytest.fixture(scope="session")
def harmone_cli():
    """The corpus's runner of the real command line (``corpus_harness.Harmone``)."""
    from corpus_harness import Harmone

    runner = Harmone()
    yield runner
    runner.close()
