"""Turning a raw series into a model version: split, scaling, metrics, parameters, errors."""

from __future__ import annotations

import numpy as np
import pytest

from harmone.config import Config, StreamConfig
from harmone.data.windowing import make_windows
from harmone.errors import DataError, ModelError
from harmone.metrics import mean_absolute_error, r2_score
from harmone.models import kinds_for, model_class, published_models
from harmone.training import TrainedModel, train

NOISE_SD = 4.0
#: Few LSTM epochs keep the file fast; enough to learn a clean sine.
FAST = Config(models={"lstm": {"epochs": 10}})
#: The published representation (min-max scaling, fixed strengths), for checks of its arithmetic.
PUBLISHED = Config(models=published_models({}))


def sine_series(n_values: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_values)
    return 100.0 + 40.0 * np.sin(2 * np.pi * t / 48) + NOISE_SD * rng.standard_normal(n_values)


def test_holdout_is_the_chronological_tail() -> None:
    series = sine_series(300)
    version = train("linear", series, PUBLISHED)
    n_windows = 300 - 5
    assert version.metrics["n_fit"] == int(n_windows * 0.8) == 236
    assert version.metrics["n_holdout"] == n_windows - 236

    X, y = make_windows(version.scaler.transform(series), 5)
    refit = model_class("linear")(alpha=256.0, select="fixed").fit(X[:236], y[:236])
    np.testing.assert_allclose(version.model.predict(X), refit.predict(X), rtol=1e-12)

    predicted = version.scaler.inverse_transform(version.model.predict(X[236:]))
    assert version.metrics["holdout_r2"] == pytest.approx(r2_score(series[241:], predicted))
    assert version.metrics["holdout_mae"] == pytest.approx(mean_absolute_error(series[241:], predicted))


@pytest.mark.parametrize("kind", kinds_for("forecasting"))
def test_metrics_are_sensible_on_a_noisy_sine(kind: str) -> None:
    version = train(kind, sine_series(1200), FAST)
    assert isinstance(version, TrainedModel)
    assert version.kind == kind
    assert 0.6 < version.metrics["holdout_r2"] <= 1.0
    # Original units: errors are a few noise deviations at most, not scaled fractions.
    assert NOISE_SD * 0.5 < version.metrics["holdout_mae"] < NOISE_SD * 4
    assert version.train_time_s > 0


def test_a_better_fitting_model_scores_higher() -> None:
    series = sine_series(1200)
    shrunk = train("linear", series, PUBLISHED)
    loose = train("linear", series, PUBLISHED.replace(models=published_models({"linear": {"alpha": 0.01}})))
    assert loose.metrics["holdout_r2"] > shrunk.metrics["holdout_r2"]
    assert loose.metrics["holdout_mae"] < shrunk.metrics["holdout_mae"]


def test_retraining_uses_retrain_params() -> None:
    series = sine_series(200)
    assert train("linear", series, Config()).params["alpha"] == 256.0
    retrained = train("linear", series, Config(), retrain=True)
    assert retrained.params["alpha"] == 200.0
    assert retrained.model.params["alpha"] == 200.0
    custom = Config(models={"linear": {"alpha": 9.0, "retrain": {"alpha": 5.0}}})
    assert train("linear", series, custom).params["alpha"] == 9.0
    assert train("linear", series, custom, retrain=True).params["alpha"] == 5.0


def test_too_short_series_says_how_many_values_are_needed() -> None:
    series = sine_series(11)
    with pytest.raises(DataError, match="has 10 values; training needs at least 11"):
        train("linear", series[:10], Config())
    assert train("linear", series, Config()).metrics["n_holdout"] == 2


def test_fit_fraction_of_one_is_rejected() -> None:
    config = Config(stream=StreamConfig(fit_fraction=1.0))
    with pytest.raises(DataError, match="fit_fraction"):
        train("linear", sine_series(100), config)


@pytest.mark.parametrize("bad, message", [(np.nan, "index 17"), (np.inf, "index 17")])
def test_non_finite_values_are_named(bad: float, message: str) -> None:
    series = sine_series(100)
    series[17] = bad
    with pytest.raises(DataError, match=message):
        train("linear", series, Config())


def test_series_must_be_one_dimensional() -> None:
    with pytest.raises(DataError, match="one-dimensional"):
        train("linear", sine_series(100).reshape(50, 2), Config())


def test_unknown_kind_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="forest"):
        train("forest", sine_series(100), Config())


def test_scaler_is_fitted_on_the_given_series_only() -> None:
    full = sine_series(600) + np.linspace(0, 300, 600)  # later data ranges higher
    part = full[:200]
    version = train("linear", part, PUBLISHED)
    assert version.scaler.min_ == part.min()
    assert version.scaler.max_ == part.max()
    assert version.scaler.max_ < full.max()


def test_snapshot_is_a_read_only_copy_of_the_raw_series() -> None:
    series = sine_series(100)
    version = train("linear", series, Config())
    np.testing.assert_array_equal(version.snapshot, series)
    series[:] = 0.0
    assert version.snapshot.max() > 0
    with pytest.raises(ValueError):
        version.snapshot[0] = 1.0


def test_lstm_training_is_seeded_and_reports_each_epoch() -> None:
    series = sine_series(160)
    config = Config(models={"lstm": {"epochs": 3}})
    calls: list[tuple[int, int]] = []
    first = train("lstm", series, config, seed=5, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert train("lstm", series, config, seed=5).metrics == first.metrics
    assert train("lstm", series, config, seed=6).metrics != first.metrics


# -- r2_score ---------------------------------------------------------------------------------


def test_r2_score_matches_the_definition() -> None:
    from sklearn.metrics import r2_score as reference

    rng = np.random.default_rng(1)
    y_true = rng.normal(size=50)
    y_pred = y_true + rng.normal(scale=0.5, size=50)
    assert r2_score(y_true, y_pred) == pytest.approx(reference(y_true, y_pred), rel=1e-12)
    assert r2_score(y_true, y_true) == 1.0
    assert r2_score(y_true, np.full(50, y_true.mean())) == pytest.approx(0.0, abs=1e-12)
    assert r2_score(y_true, -y_true) < 0


def test_r2_score_on_constant_truth_is_finite() -> None:
    flat = np.full(10, 3.0)
    assert r2_score(flat, flat) == 1.0
    assert r2_score(flat, flat + 0.1) == 0.0


def test_r2_score_rejects_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError, match="3 values but y_pred has 2"):
        r2_score(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="zero"):
        r2_score(np.zeros(0), np.zeros(0))
