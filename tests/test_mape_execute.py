"""Execute: switching, version reuse and retraining change what the serving process uses, atomically."""

from __future__ import annotations

import dataclasses

import time
from pathlib import Path

import numpy as np
import pytest

from harmone import lifecycle
from harmone.clock import SimulatedClock
from harmone.inference import InferenceEngine
from harmone.knowledge import KnowledgeStore
from harmone.mape import execute
from harmone.mape.execute import (
    InlineRetrainer,
    RetrainError,
    RetrainRequest,
    RetrainResult,
    SubprocessRetrainer,
)
from harmone.mape.plan import SwitchPlan
from harmone.repository import ModelRepository
from harmone.testing import FakeMeter
from harmone.workspace import Workspace

from conftest import FAST_CONFIG, PUBLISHED_MODELS, make_workspace, seasonal_series


def _plan(action: str, target: str | None) -> SwitchPlan:
    return SwitchPlan(action=action, source="linear", target=target, reason="score-violation",  # type: ignore[arg-type]
                      violation="score", r2=0.5, normalised_energy=0.1, ema=0.7, budget=1.0, recovery=0)


def _wait(job: execute.RetrainJob, timeout_s: float = 60.0) -> RetrainResult:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = job.poll()
        if result is not None:
            return result
        time.sleep(0.05)
    job.cancel()
    raise AssertionError("retraining job did not finish")


def test_a_switch_plan_changes_the_model_the_engine_serves(trained_workspace: Workspace) -> None:
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = InferenceEngine.for_workspace(trained_workspace, store=store, meter=FakeMeter(), clock=SimulatedClock())
        assert engine.step().model == "linear"
        execute.apply_switch(trained_workspace, _plan("none", None))
        assert engine.step().model == "linear"
        execute.apply_switch(trained_workspace, _plan("switch", "svm"))
        assert trained_workspace.read_active_model() == "svm"
        engine.flush()  # as an in-process run does before its loops; another process's engine checks within
        assert engine.step().model == "svm"  # [stream] model_check_s


@pytest.fixture
def published_workspace(tmp_path: Path) -> Workspace:
    """Like ``trained_workspace``, with linear and svm in the published min-max representation."""
    workspace = make_workspace(tmp_path / "ws", config_edits={**FAST_CONFIG, **PUBLISHED_MODELS})
    lifecycle.train_initial(workspace, ["linear", "svm"])
    workspace.write_active_model("linear")
    return workspace


def test_reuse_serves_the_old_version_with_its_own_scaler(published_workspace: Workspace) -> None:
    trained_workspace = published_workspace
    repo = ModelRepository(trained_workspace)
    # Version 2 is trained on data on another scale, so its scaler differs from version 1's.
    shifted = seasonal_series(900, seed=5) * 3 + 500
    config = trained_workspace.config
    config = config.replace(drift=dataclasses.replace(config.drift, beat_persistence=False))
    execute.retrain_version(trained_workspace, RetrainRequest("linear", shifted, "drift", 0), config)
    assert repo.active_version("linear") == 2
    old = repo.load("linear", 1)
    assert old.scaler.min_ != repo.load("linear", 2).scaler.min_

    execute.apply_reuse(repo, "linear", 1)

    assert repo.active_version("linear") == 1
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = InferenceEngine.for_workspace(trained_workspace, store=store, meter=FakeMeter(), clock=SimulatedClock())
        first = engine.step()
    test = np.loadtxt(trained_workspace.test_path, skiprows=1)
    assert first.version == 1
    assert first.predicted_value == pytest.approx(old.predict(test[None, 0:5])[0])


def test_retraining_stores_a_promoted_version_with_own_scaler_snapshot_reason_and_retrain_params(
        published_workspace: Workspace) -> None:
    trained_workspace = published_workspace
    repo = ModelRepository(trained_workspace)
    data = seasonal_series(600, seed=9) + 1000
    meter = FakeMeter()
    result = execute.retrain_version(trained_workspace, RetrainRequest("linear", data, "periodic", 4),
                                     trained_workspace.config, meter=meter)
    assert (result.kind, result.version) == ("linear", 2)
    assert repo.active_version("linear") == 2
    np.testing.assert_allclose(repo.snapshot("linear", 2), data)
    serving = repo.load("linear", 2)
    assert serving.scaler.min_ == pytest.approx(data.min())
    meta = repo.meta("linear", 2)
    assert meta["reason"] == "periodic"
    assert meta["params"]["alpha"] == 200.0  # the published retraining alpha, not the first training's 256
    assert meta["meter"]["source"] == "fake" and meta["train_energy_uj"] == 0.0


def test_inline_retrainer_finishes_at_once_and_reports_failures_as_retrain_errors(
        trained_workspace: Workspace) -> None:
    retrainer = InlineRetrainer(trained_workspace, trained_workspace.config)
    job = retrainer.submit(RetrainRequest("linear", seasonal_series(400), "periodic", 0))
    assert job.external is False
    assert job.poll().version == 2
    bad = retrainer.submit(RetrainRequest("linear", np.arange(4.0), "periodic", 0))
    with pytest.raises(RetrainError, match="retraining linear failed.*at least"):
        bad.poll()
    assert ModelRepository(trained_workspace).active_version("linear") == 2


def test_subprocess_retrainer_trains_in_a_child_and_reports_its_energy(trained_workspace: Workspace) -> None:
    job = SubprocessRetrainer(trained_workspace).submit(RetrainRequest("linear", seasonal_series(500), "periodic", 1))
    assert job.external is True
    result = _wait(job)
    repo = ModelRepository(trained_workspace)
    assert result.version == 2 and repo.active_version("linear") == 2
    assert result.energy_uj >= 0.0 and result.meter_source  # measured in the child, process scope
    assert repo.meta("linear", 2)["reason"] == "periodic"
    assert not list(trained_workspace.knowledge_dir.glob(".retrain-*"))  # scratch files cleaned up


def test_a_failing_child_is_an_error_with_its_exit_code_and_message(trained_workspace: Workspace) -> None:
    job = SubprocessRetrainer(trained_workspace).submit(RetrainRequest("linear", np.arange(4.0), "drift", 0))
    with pytest.raises(RetrainError, match=r"exit code 1.*at least"):
        _wait(job)
    assert ModelRepository(trained_workspace).versions("linear") == [1]


def test_cancelling_a_child_stops_it_and_promotes_nothing(trained_workspace: Workspace) -> None:
    job = SubprocessRetrainer(trained_workspace).submit(RetrainRequest("svm", seasonal_series(800), "drift", 0))
    pid = job.pid  # type: ignore[attr-defined]
    assert pid is not None
    job.cancel()
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)
    assert ModelRepository(trained_workspace).active_version("svm") == 1
    with pytest.raises(RetrainError, match="cancelled"):
        job.poll()


def _fast_cycle(n: int) -> np.ndarray:
    """A pattern of another period than the training data's daily cycle."""
    t = np.arange(n)
    return 200 + 150 * np.sin(2 * np.pi * t / 24)


def test_a_drift_retraining_that_loses_to_persistence_is_stored_not_served(published_workspace: Workspace) -> None:
    repo = ModelRepository(published_workspace)
    config = published_workspace.config
    assert config.drift.beat_persistence
    # Better than the serving version on these new dynamics, but not than repeating the last value.
    result = execute.retrain_version(published_workspace, RetrainRequest("linear", _fast_cycle(1200), "drift", 0),
                                     config)
    assert not result.promoted and repo.active_version("linear") == 1
    assert result.holdout_r2 > result.serving_holdout_r2  # type: ignore[operator]


def test_validated_drift_retraining_promotes_only_a_better_version(published_workspace: Workspace) -> None:
    trained_workspace = published_workspace
    repo = ModelRepository(trained_workspace)
    config = trained_workspace.config
    assert config.drift.validate and not config.retrain.validate
    # Judged against the serving version only (persistence: the test after this one).
    config = config.replace(drift=dataclasses.replace(config.drift, beat_persistence=False))
    # New dynamics the serving version never saw: the retrained version wins and serves.
    better = execute.retrain_version(trained_workspace, RetrainRequest("linear", _fast_cycle(1200), "drift", 0), config)
    assert better.promoted and repo.active_version("linear") == better.version == 2
    # Back to data like the first training's, but only 120 values: a worse fit is stored, not served.
    worse = execute.retrain_version(trained_workspace, RetrainRequest("linear", seasonal_series(120), "drift", 0), config)
    assert not worse.promoted and worse.serving_holdout_r2 is not None
    assert repo.versions("linear") == [1, 2, 3] and repo.active_version("linear") == 2
    assert repo.meta("linear", 3)["promoted"] is False
    # Periodic retraining (a published baseline) promotes whatever it trained.
    periodic = execute.retrain_version(trained_workspace, RetrainRequest("linear", seasonal_series(120), "periodic", 0),
                                       config)
    assert periodic.promoted and repo.active_version("linear") == 4
