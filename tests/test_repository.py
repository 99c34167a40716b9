from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


@pytest.mark.parametrize("kind", ["lstm/../../../outside-kind", "../linear", "/tmp/x", "linear/", "nope", ""])
def test_a_kind_that_is_not_registered_never_becomes_a_path(trained_workspace: Workspace, kind: str) -> None:
    """What the dashboard's promote sends arrives here: a name that is a path changes nothing, anywhere."""
    from harmone.dashboard import actions

    outside = trained_workspace.root.parent / "outside-kind" / "version_1"
    outside.mkdir(parents=True)  # a version folder where the traversal would lead
    repo = ModelRepository(trained_workspace)
    before = sorted(p.name for p in trained_workspace.root.iterdir())
    for attempt in (lambda: repo.promote(kind, 1), lambda: repo.versions(kind), lambda: repo.load(kind, 1),
                    lambda: repo.active_version(kind), lambda: actions.promote(trained_workspace, kind, 1)):
        with pytest.raises(ModelError, match="unknown model kind"):
            attempt()
    assert sorted(p.name for p in trained_workspace.root.iterdir()) == before
    assert sorted(p.name for p in trained_workspace.models_dir.iterdir()) == ["linear", "svm"]
    assert not trained_workspace.db_path.exists()  # no operator event recorded either


def test_an_active_link_is_read_only_into_its_own_kinds_versions(trained_workspace: Workspace, tmp_path: Path) -> None:
    """Only the link's last name used to be read: a link to ``<anywhere>/version_1`` served that folder."""
    import shutil

    repo = ModelRepository(trained_workspace)
    link = trained_workspace.active_link("linear")
    outside = tmp_path / "elsewhere" / "version_1"
    shutil.copytree(repo.version_dir("linear", 1), outside)
    for target in (str(outside), "../versionedMR/svm/version_1", "../versionedMR/linear/../../../elsewhere/version_1"):
        link.unlink()
        os.symlink(target, link)
        with pytest.raises(ModelError, match="a link leading outside the workspace's versions of linear"):
            ModelRepository(trained_workspace).active_version("linear")
    link.unlink()
    os.symlink(os.path.abspath(repo.version_dir("linear", 1)), link)  # absolute, but the right folder
    assert ModelRepository(trained_workspace).active_version("linear") == 1


def test_half_written_versions_of_a_dead_writer_go_at_the_next_run(trained_workspace: Workspace) -> None:
    """A run killed while storing a version left ``.tmp-<pid>-*``; the next run's manager removes it."""
    from harmone.runner import run_approach

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    kind_dir = trained_workspace.versions_dir / "linear"
    left = [kind_dir / f".tmp-{dead.pid}-123", kind_dir / f".tmp-pruned-1-{dead.pid}"]
    alive = kind_dir / f".tmp-{os.getpid()}-456"  # a writer still at work keeps its folder
    for path in (*left, alive):
        path.mkdir()
        (path / "model.npz").write_bytes(b"partial")
    run_approach(trained_workspace, "single-linear", steps=5, simulate=True)
    assert not any(path.exists() for path in left)
    assert alive.is_dir() and ModelRepository(trained_workspace).versions("linear") == [1]
