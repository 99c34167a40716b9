"""Forecasting quality: the naive kinds, the relative representation, validation, skill over persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harmone import lifecycle
from harmone.clock import SimulatedClock
from harmone.config import Config
from harmone.experiment import published_config
from harmone.inference import InferenceEngine
from harmone.knowledge import KnowledgeStore
from harmone.metrics import skill_over_persistence
from harmone.models import published_models
from harmone.models.naive import detect_season
from harmone.repository import SCALER_FILE, ModelRepository, ServingModel
from harmone.testing import FakeMeter
from harmone.training import holdout_windows, train
from harmone.workspace import Workspace

from conftest import make_workspace, seasonal_series

PUBLISHED = Config(models=published_models({}))


def ar_series(n: int, level: float = 0.0, seed: int = 0) -> np.ndarray:
    """Changes that follow an AR(1) process: learnable momentum on a wandering level."""
    rng = np.random.default_rng(seed)
    changes = np.zeros(n)
    for i in range(1, n):
        changes[i] = 0.7 * changes[i - 1] + rng.standard_normal()
    return level + np.cumsum(changes)


def serve(version) -> ServingModel:  # noqa: ANN001 - a TrainedModel
    return ServingModel(version.kind, 1, version.model, version.scaler)


# -- skill over persistence -----------------------------------------------------------------


def test_skill_is_one_for_exact_zero_for_persistence_and_negative_when_worse() -> None:
    true = np.array([1.0, 3.0, 2.0, 5.0])
    last = np.array([0.0, 1.0, 3.0, 2.0])
    assert skill_over_persistence(true, true, last) == 1.0
    assert skill_over_persistence(true, last, last) == 0.0
    assert skill_over_persistence(true, last - 3.0, last) < 0.0
    # Halving every error of persistence removes three quarters of its squared error.
    assert skill_over_persistence(true, (true + last) / 2, last) == pytest.approx(0.75)


def test_skill_is_finite_when_persistence_is_exact() -> None:
    flat = np.full(5, 2.0)
    assert skill_over_persistence(flat, flat, flat) == 0.0
    assert skill_over_persistence(flat, flat + 1, flat) == -1.0
    with pytest.raises(ValueError, match="has 3"):
        skill_over_persistence(flat, flat[:3], flat)


# -- representation -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["linear", "svm"])
def test_relative_inputs_carry_a_model_to_a_level_it_never_saw(kind: str) -> None:
    series = ar_series(600)
    version = serve(train(kind, series, Config()))
    window = series[300:305]
    shifted = version.predict_next((window + 10_000).tolist())
    assert shifted == pytest.approx(version.predict_next(window.tolist()) + 10_000, abs=1e-6)


@pytest.mark.parametrize("kind", ["linear", "svm"])
def test_default_learned_models_beat_persistence_where_published_ones_do_not(kind: str) -> None:
    series = ar_series(1600, seed=4)
    train_part, test_part = series[:600], series[600:]
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], 5)[595:]
    actual, last = series[600:], series[599:-1]
    assert len(X) == len(test_part)
    default = serve(train(kind, train_part, Config())).predict(X)
    assert skill_over_persistence(actual, default, last) > 0.2
    published = serve(train(kind, train_part, PUBLISHED)).predict(X)
    assert skill_over_persistence(actual, published, last) < skill_over_persistence(actual, default, last)


def test_validation_reports_the_strength_it_chose() -> None:
    version = train("linear", ar_series(600), Config())
    assert version.metrics["selected"]["alpha"] > 0
    assert train("linear", ar_series(600), PUBLISHED).metrics["selected"] == {"alpha": 256.0}


def test_published_constants_select_the_published_representation() -> None:
    config = published_config(Config(models={"linear": {"alpha": 3.0, "retrain": {"alpha": 4.0}}}))
    assert config.model_params("linear")["inputs"] == "minmax"
    assert config.model_params("linear")["select"] == "fixed"
    assert config.model_params("linear", retrain=True)["alpha"] == 4.0
    assert (config.model_params("svm")["tol"], config.model_params("svm")["inputs"]) == (0.16, "minmax")
    assert config.model_params("lstm")["inputs"] == "minmax"


def test_a_version_stored_with_an_old_min_max_scaler_file_still_serves(workspace: Workspace) -> None:
    repo = ModelRepository(workspace)
    version = train("linear", seasonal_series(800), PUBLISHED)
    repo.add_version(version, reason="initial")
    path = repo.version_dir("linear", 1) / SCALER_FILE
    path.write_text(json.dumps({"min": version.scaler.min_, "max": version.scaler.max_}))
    served = repo.load("linear", 1)
    assert served.context_length is None
    window = seasonal_series(800)[10:15].tolist()
    assert served.predict_next(window) == serve(version).predict_next(window)


def test_a_corrupt_representation_file_is_a_one_line_error(workspace: Workspace) -> None:
    repo = ModelRepository(workspace)
    repo.add_version(train("linear", seasonal_series(800), Config()), reason="initial")
    path = repo.version_dir("linear", 1) / SCALER_FILE
    path.write_text(json.dumps({"representation": "relative", "scale": -1.0, "context": 5}))
    with pytest.raises(Exception, match="corrupt scaler.*scale"):
        repo.load("linear", 1)


def test_a_longer_context_is_a_setting() -> None:
    version = train("linear", ar_series(600), Config(models={"linear": {"context": 12}}))
    assert version.metrics["context"] == version.scaler.context == 12
    assert version.model.to_arrays()["coef"].shape == (12,)
    short = train("linear", ar_series(600), Config())
    assert short.metrics["n_holdout"] == version.metrics["n_holdout"]


# -- naive kinds ----------------------------------------------------------------------------


def test_persistence_predicts_the_last_value_and_has_zero_skill() -> None:
    series = ar_series(300)
    version = train("persistence", series, Config())
    assert serve(version).predict_next([1.0, 2.0, 7.5, 3.0, 4.25]) == 4.25
    assert version.metrics["holdout_skill"] == 0.0


@pytest.mark.parametrize("period", [7, 12, 24, 52])
def test_the_season_is_found_in_the_training_data(period: int) -> None:
    rng = np.random.default_rng(period)
    t = np.arange(40 * period)
    values = 0.05 * t + np.sin(2 * np.pi * t / period) + 0.2 * rng.standard_normal(len(t))
    assert detect_season(values) == period


def test_no_season_in_noise_or_a_flat_line_means_persistence() -> None:
    assert detect_season(np.random.default_rng(1).standard_normal(2000)) == 1
    assert detect_season(np.full(100, 3.0)) == 1
    assert detect_season(np.arange(5.0)) == 1


def test_seasonal_model_predicts_the_value_one_season_back() -> None:
    t = np.arange(600)
    series = 50 + 10 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, 0.5, 600)
    version = train("seasonal", series, Config())
    assert version.metrics["selected"] == {"season": 24}
    assert version.scaler.context == 24
    window = series[100:124].tolist()
    assert serve(version).predict_next(window) == pytest.approx(window[0])
    assert serve(version).predict_next([1.0] * 23 + [9.0]) == pytest.approx(1.0)
    # Given fewer values than one season, it falls back to the last value.
    assert serve(version).predict_next([3.0, 4.0]) == 4.0
    assert version.metrics["holdout_skill"] > 0.5


def test_a_given_season_is_used_as_is() -> None:
    version = train("seasonal", seasonal_series(900), Config(models={"seasonal": {"season": 10}}))
    assert version.metrics["selected"] == {"season": 10} and version.scaler.context == 10


def test_a_season_longer_than_the_training_data_allows_is_a_clear_error() -> None:
    from harmone.errors import DataError

    with pytest.raises(DataError, match="looks back 500 values.*--train-ratio"):
        train("seasonal", seasonal_series(300), Config(models={"seasonal": {"season": 500}}))


def test_holdout_windows_widen_to_a_version_context() -> None:
    series = ar_series(300)
    X5, y5 = holdout_windows(series, Config())
    X24, y24 = holdout_windows(series, Config(), width=24)
    np.testing.assert_array_equal(y5, y24)
    assert X24.shape == (len(y5), 24)
    np.testing.assert_array_equal(X24[:, -5:], X5)


def test_the_engine_serves_a_seasonal_version_with_a_whole_season_of_history(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    lifecycle.train_initial(workspace, ["seasonal"])
    workspace.write_active_model("seasonal")
    season = ModelRepository(workspace).load_active("seasonal").context_length
    assert season is not None and 250 < season < 320
    test = np.loadtxt(workspace.test_path, skiprows=1)
    with KnowledgeStore(workspace.db_path) as store:
        engine = InferenceEngine.for_workspace(workspace, store=store, meter=FakeMeter(), clock=SimulatedClock())
        predictions = [engine.step() for _ in range(season + 20)]
    late = [p for p in predictions if p is not None and p.position >= season]
    assert late and all(p.predicted_value == test[p.position - season] for p in late)
    early = [p for p in predictions if p is not None and p.position < season]
    assert early and all(p.predicted_value == test[p.position - 1] for p in early)


def test_the_representation_is_validated_with_the_rest_of_the_config() -> None:
    from harmone import config as config_mod
    from harmone.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[models.linear\].*inputs = 'zscore' is not one of relative, minmax"):
        config_mod.from_mapping({"models": {"linear": {"inputs": "zscore"}}})
    with pytest.raises(ConfigError, match=r"\[models.seasonal\].*season"):
        config_mod.from_mapping({"models": {"seasonal": {"season": -2}}})
    loaded = config_mod.from_mapping({"models": {"svm": {"inputs": "minmax", "select": "fixed"}}})
    assert loaded.model_params("svm")["inputs"] == "minmax"
