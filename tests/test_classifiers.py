"""The classification kinds: accuracy on clean digits, streaming path, warm start, storage, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harmone.errors import ModelError
from harmone.models import kinds, kinds_for, model_class
from harmone.models.base import ARRAYS_FILE
from harmone.models.classifier import ClassifierModel

CLASSIFIERS = kinds_for("classification")
#: Accuracy each kind must reach on held-out clean digits (trained on 60 %, tested on 40 %).
ACCURACY_BAR = {"logistic": 0.94, "cnn-small": 0.95, "cnn-large": 0.96}
WARM_EPOCHS = 5


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    return digits.data[order] / 16.0, digits.target[order].astype(np.float64)


def _occluded(X: np.ndarray) -> np.ndarray:
    """Digits with a white 3x3 square over the middle: a shift the clean models handle badly."""
    images = X.reshape(-1, 8, 8).copy()
    images[:, 2:5, 2:5] = 1.0
    return images.reshape(-1, 64)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = _digits()
    cut = int(0.6 * len(y))
    return X[:cut], y[:cut], X[cut:], y[cut:]


@pytest.fixture(scope="module")
def fitted(digits: tuple[np.ndarray, ...]) -> dict[str, ClassifierModel]:
    X, y, _, _ = digits
    return {kind: model_class(kind)().fit(X, y, seed=0) for kind in CLASSIFIERS}


def _accuracy(model: ClassifierModel, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(X) == y))


def test_the_zoo_registers_three_classification_kinds_apart_from_the_forecasting_ones() -> None:
    assert CLASSIFIERS == ["cnn-large", "cnn-small", "logistic"]
    assert sorted(kinds_for("forecasting") + CLASSIFIERS) == kinds()
    assert all(model_class(kind).task == "forecasting" for kind in kinds_for("forecasting"))
    assert all("inputs" not in model_class(kind).default_params for kind in CLASSIFIERS)


@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_accuracy_on_clean_digits_reaches_the_kinds_bar(kind: str, fitted: dict[str, ClassifierModel],
                                                        digits: tuple[np.ndarray, ...]) -> None:
    _, _, X_test, y_test = digits
    assert _accuracy(fitted[kind], X_test, y_test) >= ACCURACY_BAR[kind]


@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_predictions_are_class_indices_and_probabilities_sum_to_one(
        kind: str, fitted: dict[str, ClassifierModel], digits: tuple[np.ndarray, ...]) -> None:
    _, _, X_test, _ = digits
    model = fitted[kind]
    assert (model.n_features_, model.n_classes_) == (64, 10)
    predicted = model.predict(X_test)
    assert predicted.shape == (len(X_test),) and predicted.dtype == np.float64
    assert set(np.unique(predicted)) <= set(range(10))
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(np.argmax(proba, axis=1), predicted)
    assert model.predict(X_test[:0]).shape == (0,)


@pytest.mark.parametrize("container", [list, tuple, np.asarray])
@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_predict_one_equals_predict_row_by_row(kind: str, container: type, fitted: dict[str, ClassifierModel],
                                               digits: tuple[np.ndarray, ...]) -> None:
    _, _, X_test, _ = digits
    model = fitted[kind]
    one = [model.predict_one(container(row.tolist())) for row in X_test[:200]]
    assert all(type(value) is float for value in one)
    np.testing.assert_array_equal(one, model.predict(X_test[:200]))


@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_save_and_load_reproduce_predictions_exactly(kind: str, fitted: dict[str, ClassifierModel],
                                                     digits: tuple[np.ndarray, ...], tmp_path: Path) -> None:
    _, _, X_test, _ = digits
    model = fitted[kind]
    model.save(tmp_path / kind)
    loaded = model_class(kind).load(tmp_path / kind)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
    assert [loaded.predict_one(row) for row in X_test[:50]] == [model.predict_one(row) for row in X_test[:50]]
    assert loaded.params == model.params


def test_serving_a_loaded_classifier_imports_neither_torch_nor_sklearn(
        fitted: dict[str, ClassifierModel], tmp_path: Path) -> None:
    for kind, model in fitted.items():
        model.save(tmp_path / kind)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from harmone.models import model_class\n"
        "for path in sorted(Path(sys.argv[1]).iterdir()):\n"
        "    print(model_class(path.name).load(path).predict_one([0.5] * 64))\n"
        "print(sorted(name for name in ('torch', 'sklearn') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.splitlines()[-1] == "[]"
    assert len(result.stdout.splitlines()) == len(fitted) + 1


@pytest.mark.parametrize("kind", ["cnn-small", "cnn-large"])
def test_the_numpy_forward_pass_matches_the_torch_network(kind: str, fitted: dict[str, ClassifierModel],
                                                          digits: tuple[np.ndarray, ...]) -> None:
    import torch

    _, _, X_test, _ = digits
    model = fitted[kind]
    with torch.no_grad():
        reference = model.to_torch()(torch.as_tensor(X_test, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(model._logits(X_test), reference, atol=1e-4)


@pytest.mark.parametrize("n_features", [1, 5, 17])
def test_a_cnn_runs_on_tabular_records_of_any_width(n_features: int) -> None:
    import torch

    rng = np.random.default_rng(n_features)
    X = rng.normal(size=(200, n_features))
    y = (X[:, 0] > 0).astype(np.float64) + (X[:, -1] > 1.0)
    model = model_class("cnn-small")(epochs=3).fit(X, y, seed=1)
    assert model.n_classes_ == 3
    np.testing.assert_array_equal([model.predict_one(row) for row in X], model.predict(X))
    with torch.no_grad():
        reference = model.to_torch()(torch.as_tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(model._logits(X), reference, atol=1e-4)


def test_the_same_seed_gives_the_same_network_and_another_seed_another(digits: tuple[np.ndarray, ...]) -> None:
    X, y, X_test, _ = digits
    first = model_class("cnn-small")(epochs=2).fit(X, y, seed=3)
    again = model_class("cnn-small")(epochs=2).fit(X, y, seed=3)
    other = model_class("cnn-small")(epochs=2).fit(X, y, seed=4)
    np.testing.assert_array_equal(first.predict_proba(X_test), again.predict_proba(X_test))
    assert not np.array_equal(first.to_arrays()["conv1_weight"], other.to_arrays()["conv1_weight"])


# -- warm start ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_a_warm_start_learns_occluded_digits_from_the_serving_version(
        kind: str, fitted: dict[str, ClassifierModel], digits: tuple[np.ndarray, ...]) -> None:
    X, y, X_test, y_test = digits
    initial = fitted[kind]
    before = _accuracy(initial, _occluded(X_test), y_test)
    assert model_class(kind).can_warm_start(initial.params)
    warm = initial.clone()
    assert warm.start_from(initial, WARM_EPOCHS)
    warm.fit_from(_occluded(X), y, initial, seed=0)
    assert _accuracy(warm, _occluded(X_test), y_test) >= before + 0.1
    assert _accuracy(initial, _occluded(X_test), y_test) == before  # the serving version is untouched


def test_a_cnn_warm_start_trains_warm_epochs_and_says_so_in_its_share(fitted: dict[str, ClassifierModel]) -> None:
    cls = model_class("cnn-large")
    assert cls.can_warm_start(cls.default_params)
    assert cls.warm_share(cls.default_params, WARM_EPOCHS) == pytest.approx(WARM_EPOCHS / 15)
    warm = cls()
    assert warm.start_from(fitted["cnn-large"], WARM_EPOCHS)
    assert warm.params["epochs"] == WARM_EPOCHS
    # The logistic solver runs to the same tolerance either way: it promises no saving.
    assert model_class("logistic").warm_share(model_class("logistic").default_params, WARM_EPOCHS) == 1.0


def test_a_cnn_of_other_sizes_does_not_warm_start(fitted: dict[str, ClassifierModel]) -> None:
    assert not model_class("cnn-large")(conv1=8).start_from(fitted["cnn-large"], WARM_EPOCHS)
    assert not model_class("cnn-small")(hidden=0).start_from(fitted["cnn-small"], WARM_EPOCHS)


@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_a_warm_start_learns_a_class_the_serving_version_never_saw(kind: str,
                                                                    digits: tuple[np.ndarray, ...]) -> None:
    X, y, X_test, y_test = digits
    seen = y < 9
    initial = model_class(kind)().fit(X[seen], y[seen], seed=0)
    assert initial.n_classes_ == 9
    warm = initial.clone()
    assert warm.start_from(initial, WARM_EPOCHS)
    warm.fit_from(X, y, initial, seed=0)
    assert warm.n_classes_ == 10
    nines = y_test == 9
    assert np.mean(warm.predict(X_test[nines]) == 9) > 0.5


@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_a_warm_start_refuses_records_of_another_width(kind: str, fitted: dict[str, ClassifierModel],
                                                       digits: tuple[np.ndarray, ...]) -> None:
    X, y, _, _ = digits
    warm = fitted[kind].clone()
    assert warm.start_from(fitted[kind], WARM_EPOCHS)
    with pytest.raises(ValueError, match="64 features, got 63"):
        warm.fit_from(X[:, :63], y, fitted[kind])


# -- bad settings and inputs -----------------------------------------------------------------


@pytest.mark.parametrize("kind, key, value", [
    ("logistic", "alpha", -1.0), ("logistic", "max_iter", 0), ("logistic", "tol", 0.0),
    ("cnn-small", "conv1", 0), ("cnn-small", "hidden", -1), ("cnn-large", "epochs", 0),
    ("cnn-large", "learning_rate", 0.0), ("cnn-large", "batch_size", 2.5),
])
def test_a_bad_setting_is_refused_naming_the_parameter(kind: str, key: str, value: object,
                                                       digits: tuple[np.ndarray, ...]) -> None:
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=rf"^{key}\b.*{value!r}"):
        model_class(kind)(**{key: value}).fit(X[:20], y[:20])


@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_every_setting_has_a_constraint_and_inputs_is_not_one(kind: str) -> None:
    cls = model_class(kind)
    assert set(cls.parameter_constraints) == set(cls.default_params)
    cls.check_params(cls.default_params)
    with pytest.raises(ValueError, match="unknown key 'inputs'"):
        cls.check_params({"inputs": "relative"})


@pytest.mark.parametrize("labels, message", [
    ([0.0, 1.0, 0.5], "row 2 holds 0.5"), ([0.0, -1.0, 1.0], "row 1 holds -1.0"),
    ([0.0, float("nan"), 1.0], "row 1 holds nan"),
])
def test_labels_that_are_not_class_indices_are_refused_naming_the_row(labels: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model_class("logistic")().fit(np.zeros((3, 4)), np.asarray(labels))


@pytest.mark.parametrize("kind", CLASSIFIERS)
def test_serving_refuses_an_unfitted_model_and_records_of_another_width(
        kind: str, fitted: dict[str, ClassifierModel]) -> None:
    with pytest.raises(ModelError, match="not fitted"):
        model_class(kind)().predict_one([0.0] * 64)
    with pytest.raises(ModelError, match="expects 64 features"):
        fitted[kind].predict_one([0.0] * 63)
    with pytest.raises(ModelError, match="64 features"):
        fitted[kind].predict(np.zeros((2, 65)))


def test_a_tampered_cnn_file_fails_to_load_with_a_model_error(fitted: dict[str, ClassifierModel],
                                                              tmp_path: Path) -> None:
    model = fitted["cnn-large"]
    model.save(tmp_path)
    arrays = model.to_arrays()
    arrays["n_features"] = np.asarray([100])
    with open(tmp_path / ARRAYS_FILE, "wb") as handle:
        np.savez(handle, **arrays)
    with pytest.raises(ModelError, match="corrupt or tampered.*'hidden_weight'"):
        model_class("cnn-large").load(tmp_path)
