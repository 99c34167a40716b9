from __future__ import annotations

import os

import numpy as np
import pytest

from harmone.errors import ModelError
from harmone.models import published_models
from harmone.repository import ModelRepository
from harmone.training import train
from harmone.workspace import Workspace

from conftest import seasonal_series


def _trained(workspace: Workspace, seed: int = 0):
    return train("linear", seasonal_series(1000, seed), workspace.config)


def test_versions_are_numbered_and_carry_model_scaler_snapshot_and_meta(workspace: Workspace) -> None:
    repo = ModelRepository(workspace)
    first = _trained(workspace, 0)
    assert repo.add_version(first, reason="initial") == 1
    assert repo.add_version(_trained(workspace, 1), reason="retrain") == 2
    assert repo.versions("linear") == [1, 2]
    directory = repo.version_dir("linear", 1)
    assert {p.name for p in directory.iterdir()} >= {"model.npz", "params.json", "scaler.json", "data.csv", "meta.json"}
    meta = repo.meta("linear", 1)
    assert meta["version"] == 1 and meta["reason"] == "initial" and "holdout_r2" in meta["metrics"]
    np.testing.assert_allclose(repo.snapshot("linear", 1), first.snapshot)


def test_promote_switches_the_active_version_atomically(workspace: Workspace) -> None:
    repo = ModelRepository(workspace)
    repo.add_version(_trained(workspace, 0), reason="initial")
    repo.add_version(_trained(workspace, 1), reason="retrain")
    assert repo.active_version("linear") is None
    repo.promote("linear", 1)
    assert repo.active_version("linear") == 1
    repo.promote("linear", 2)
    assert repo.active_version("linear") == 2
    assert repo.load_active("linear").version == 2
    assert os.path.islink(workspace.models_dir / "linear")
    with pytest.raises(ModelError, match="no version 7"):
        repo.promote("linear", 7)


def test_a_version_write_interrupted_midway_is_invisible(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = ModelRepository(workspace)
    repo.add_version(_trained(workspace, 0), reason="initial")
    trained = _trained(workspace, 1)

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(trained.model, "save", crash)
    with pytest.raises(OSError):
        repo.add_version(trained, reason="retrain")
    assert repo.versions("linear") == [1]
    assert [p.name for p in (workspace.versions_dir / "linear").iterdir()] == ["version_1"]


def test_a_crashed_writer_leaves_no_visible_version(workspace: Workspace) -> None:
    repo = ModelRepository(workspace)
    # What a process killed between writing and renaming leaves behind.
    leftover = workspace.versions_dir / "linear" / ".tmp-999-1"
    leftover.mkdir(parents=True)
    (leftover / "model.npz").write_bytes(b"partial")
    assert repo.versions("linear") == []
    assert repo.add_version(_trained(workspace), reason="initial") == 1


def test_reused_version_serves_with_its_own_scaler(workspace: Workspace) -> None:
    repo = ModelRepository(workspace)
    config = workspace.config.replace(models=published_models(workspace.config.models))
    low = train("linear", seasonal_series(1000, 0), config)
    high = train("linear", seasonal_series(1000, 0) * 3 + 500, config)
    repo.add_version(low, reason="initial")
    repo.add_version(high, reason="retrain")
    served_low, served_high = repo.load("linear", 1), repo.load("linear", 2)
    assert served_low.scaler.to_dict() == low.scaler.to_dict()
    assert served_high.scaler.to_dict() == high.scaler.to_dict() != low.scaler.to_dict()
    window = list(seasonal_series(1000, 0)[100:105] * 3 + 500)
    assert served_high.predict_next(window) == pytest.approx(
        float(high.scaler.inverse_transform(high.model.predict(high.scaler.transform(np.array([window]))))[0]))
