"""One check suite over every registered model kind, then kind-specific checks."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harmone.data.windowing import make_windows
from harmone.errors import ModelError
from harmone.models import Model, kinds, kinds_for, model_class
from harmone.models.base import ARRAYS_FILE, PARAMS_FILE

#: Settings that keep the LSTM cheap in tests; other kinds train with their defaults.
FAST_PARAMS: dict[str, dict[str, Any]] = {"lstm": {"epochs": 2}}

ALL_KINDS = kinds_for("forecasting")


def _windows(n_values: int = 260, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n_values)
    series = 0.5 + 0.35 * np.sin(2 * np.pi * t / 48) + 0.05 * rng.standard_normal(n_values)
    return make_windows(series, 5)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return _windows()


@pytest.fixture(scope="module")
def fitted(data: tuple[np.ndarray, np.ndarray]) -> dict[str, Model]:
    X, y = data
    return {kind: model_class(kind)(**FAST_PARAMS.get(kind, {})).fit(X, y, seed=0) for kind in ALL_KINDS}


class _CreatesFileWhenUnpickled:
    """A payload that would create ``path`` if anything unpickled it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.mkdir, (str(self.path),)


# -- the shared suite ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_fit_returns_self_and_reports_progress(kind: str, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    calls: list[tuple[int, int]] = []
    model = model_class(kind)(**FAST_PARAMS.get(kind, {}))
    assert model.fit(X, y, progress=lambda done, total: calls.append((done, total))) is model
    assert calls and calls[-1][0] == calls[-1][1]
    assert [done for done, _ in calls] == list(range(1, len(calls) + 1))


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_predictions_are_finite_with_one_value_per_window(kind: str, fitted: dict[str, Model],
                                                          data: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = data
    predictions = fitted[kind].predict(X[:17])
    assert predictions.shape == (17,)
    assert np.all(np.isfinite(predictions))
    assert isinstance(fitted[kind].predict_one(X[0].tolist()), float)


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("container", [list, tuple, np.asarray])
def test_predict_one_equals_predict(kind: str, container: Any, fitted: dict[str, Model],
                                    data: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = data
    model = fitted[kind]
    one = [model.predict_one(container(window.tolist())) for window in X[:40]]
    np.testing.assert_allclose(one, model.predict(X[:40]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_save_load_round_trip_predicts_identically(kind: str, fitted: dict[str, Model],
                                                    data: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    X, _ = data
    fitted[kind].save(tmp_path)
    loaded = model_class(kind).load(tmp_path)
    assert type(loaded) is type(fitted[kind])
    assert loaded.params == fitted[kind].params
    np.testing.assert_array_equal(loaded.predict(X), fitted[kind].predict(X))
    assert loaded.predict_one(X[3].tolist()) == fitted[kind].predict_one(X[3].tolist())


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_clone_is_unfitted_with_same_params(kind: str, fitted: dict[str, Model],
                                            data: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = data
    clone = fitted[kind].clone()
    assert clone is not fitted[kind]
    assert clone.params == fitted[kind].params
    with pytest.raises(ModelError, match="not fitted"):
        clone.predict(X[:2])
    with pytest.raises(ModelError, match="not fitted"):
        clone.predict_one(X[0].tolist())


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_check_params_names_the_bad_parameter(kind: str) -> None:
    cls = model_class(kind)
    cls.check_params(cls.default_params)
    for name in cls.default_params:
        with pytest.raises(ValueError, match=name):
            cls.check_params({**cls.default_params, name: -1})


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_fit_rejects_bad_params(kind: str, data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    name = next(iter(model_class(kind).default_params))
    with pytest.raises(ValueError, match=name):
        model_class(kind)(**{name: -1}).fit(X, y)


def _tamper(case: str, directory: Path, model: Model, marker: Path) -> None:
    arrays_path = directory / ARRAYS_FILE
    arrays = model.to_arrays()
    first = next(iter(arrays))
    if case == "object array":
        with open(arrays_path, "wb") as handle:
            np.savez(handle, **{**arrays, first: np.array([_CreatesFileWhenUnpickled(marker)], dtype=object)})
    elif case == "pickle payload":
        arrays_path.write_bytes(pickle.dumps(_CreatesFileWhenUnpickled(marker)))
    elif case == "random bytes":
        arrays_path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif case == "missing array":
        with open(arrays_path, "wb") as handle:
            np.savez(handle, **{k: v for k, v in arrays.items() if k != first})
    elif case == "wrong shape":
        with open(arrays_path, "wb") as handle:
            np.savez(handle, **{k: np.concatenate([v.reshape(-1), [0.0]]) for k, v in arrays.items()})
    elif case == "non-finite weights":
        with open(arrays_path, "wb") as handle:
            np.savez(handle, **{k: np.full_like(v, np.nan) for k, v in arrays.items()})
    elif case == "missing file":
        arrays_path.unlink()
    elif case == "other kind":
        other = next(k for k in ALL_KINDS if k != model.kind)
        (directory / PARAMS_FILE).write_text(json.dumps({"kind": other, "params": dict(model_class(other).default_params)}))
    elif case == "unknown parameter":
        (directory / PARAMS_FILE).write_text(json.dumps({"kind": model.kind, "params": {"nonsense": 1}}))
    else:
        raise AssertionError(case)


TAMPER_CASES = ["object array", "pickle payload", "random bytes", "missing array", "wrong shape",
                "non-finite weights", "missing file", "other kind", "unknown parameter"]


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("case", TAMPER_CASES)
def test_tampered_model_fails_without_running_code(kind: str, case: str, fitted: dict[str, Model],
                                                   tmp_path: Path) -> None:
    directory = tmp_path / "model"
    marker = tmp_path / "code-ran"
    fitted[kind].save(directory)
    _tamper(case, directory, fitted[kind], marker)
    with pytest.raises(ModelError, match=re.escape(str(directory))):
        model_class(kind).load(directory)
    assert not marker.exists()


def test_the_pickle_payload_is_live(tmp_path: Path) -> None:
    """Guards the tamper test: unrestricted unpickling of the payload does run code."""
    marker = tmp_path / "code-ran"
    pickle.loads(pickle.dumps(_CreatesFileWhenUnpickled(marker)))  # noqa: S301 - the point of the test
    assert marker.exists()


def test_serving_imports_neither_torch_nor_sklearn(fitted: dict[str, Model], tmp_path: Path) -> None:
    for kind, model in fitted.items():
        model.save(tmp_path / kind)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "import harmone.models.linear, harmone.models.lstm, harmone.models.svm\n"
        "from harmone.models import kinds, model_class\n"
        "root = Path(sys.argv[1])\n"
        "for kind in sorted(path.name for path in root.iterdir()):\n"
        "    model_class(kind).load(root / kind).predict_one([0.1, 0.2, 0.3, 0.4, 0.5])\n"
        "print(sorted(name for name in ('torch', 'sklearn') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "[]"


# -- kind-specific ---------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [256.0, 200.0, 1e-3])
def test_linear_matches_sklearn_ridge(alpha: float, data: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.linear_model import Ridge

    X, y = data
    ours = model_class("linear")(alpha=alpha, select="fixed").fit(X[:150], y[:150])
    reference = Ridge(alpha=alpha).fit(X[:150], y[:150])
    np.testing.assert_allclose(ours.to_arrays()["coef"], reference.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.predict(X[150:]), reference.predict(X[150:]), rtol=1e-9, atol=1e-12)


def test_linear_published_setting_restores_the_published_alphas() -> None:
    cls = model_class("linear")
    published = {**cls.default_params, **cls.published_params}
    assert published == {"alpha": 256.0, "inputs": "minmax", "select": "fixed", "context": 0}
    assert cls.default_retrain_params == {"alpha": 200.0}


def test_svm_published_setting_matches_sklearn_svr(data: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.svm import SVR

    X, y = data
    cls = model_class("svm")
    ours = cls(**cls.published_params).fit(X, y)
    reference = SVR(kernel="linear", C=0.05, tol=0.16, epsilon=0.1).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["linear", "svm"])
def test_validation_regularises_more_when_there_is_nothing_to_learn(kind: str) -> None:
    """On a random walk the best forecast of the change is zero: validation picks the strongest setting."""
    rng = np.random.default_rng(3)
    walk = np.cumsum(rng.standard_normal(400))
    X, y = make_windows(walk, 5)
    X, y = X - X[:, -1:], y - X[:, -1]
    signal = np.sin(np.arange(400) / 3.0)
    Xs, ys = make_windows(signal, 5)
    noisy, clean = model_class(kind)().fit(X, y), model_class(kind)().fit(Xs - Xs[:, -1:], ys - Xs[:, -1])
    name = "alpha" if kind == "linear" else "C"
    stronger = (lambda a, b: a > b) if kind == "linear" else (lambda a, b: a < b)
    assert stronger(noisy.selected_[name], clean.selected_[name])


@pytest.mark.parametrize("kind", ["linear", "svm"])
def test_affine_models_reject_windows_of_another_width(kind: str, fitted: dict[str, Model]) -> None:
    with pytest.raises(ModelError, match="windows of 5 values, got 4"):
        fitted[kind].predict_one([0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ModelError, match="windows of 5 values, got 6"):
        fitted[kind].predict(np.zeros((3, 6)))


def test_lstm_numpy_forward_matches_torch() -> None:
    import torch

    torch.manual_seed(3)
    lstm = torch.nn.LSTM(input_size=1, hidden_size=12, batch_first=True)
    head = torch.nn.Linear(12, 1)
    arrays = {
        "weight_ih": lstm.weight_ih_l0, "weight_hh": lstm.weight_hh_l0, "bias_ih": lstm.bias_ih_l0,
        "bias_hh": lstm.bias_hh_l0, "head_weight": head.weight, "head_bias": head.bias,
    }
    model = model_class("lstm").from_arrays({k: v.detach().numpy() for k, v in arrays.items()}, {"hidden_size": 12})
    X = np.random.default_rng(1).uniform(-0.5, 1.5, size=(64, 7))
    with torch.no_grad():
        expected = head(lstm(torch.as_tensor(X, dtype=torch.float32).unsqueeze(-1))[0][:, -1]).numpy()[:, 0]
    np.testing.assert_allclose(model.predict(X), expected, atol=1e-5)
    np.testing.assert_allclose([model.predict_one(w) for w in X[:8].tolist()], expected[:8], atol=1e-5)


def test_fitted_lstm_matches_its_torch_network(fitted: dict[str, Model], data: tuple[np.ndarray, np.ndarray]) -> None:
    import torch

    X, _ = data
    with torch.no_grad():
        expected = fitted["lstm"].to_torch()(torch.as_tensor(X, dtype=torch.float32).unsqueeze(-1)).numpy()[:, 0]
    np.testing.assert_allclose(fitted["lstm"].predict(X), expected, atol=1e-5)


def test_lstm_seed_reproduces_the_model(fitted: dict[str, Model], data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    again = model_class("lstm")(**FAST_PARAMS["lstm"]).fit(X, y, seed=0)
    other = model_class("lstm")(**FAST_PARAMS["lstm"]).fit(X, y, seed=1)
    for name, value in fitted["lstm"].to_arrays().items():
        np.testing.assert_array_equal(again.to_arrays()[name], value)
    assert not np.array_equal(other.predict(X), fitted["lstm"].predict(X))


def test_lstm_fit_leaves_torch_global_state_alone(data: tuple[np.ndarray, np.ndarray]) -> None:
    import torch

    X, y = data
    threads = torch.get_num_threads()
    torch.manual_seed(42)
    expected = torch.rand(3)
    torch.manual_seed(42)
    model_class("lstm")(epochs=1, hidden_size=4).fit(X[:32], y[:32], seed=7)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.rand(3), expected)


def test_lstm_rejects_a_non_integer_size() -> None:
    with pytest.raises(ValueError, match="hidden_size"):
        model_class("lstm").check_params({**model_class("lstm").default_params, "hidden_size": 2.5})


def test_the_naive_bar_is_named_by_the_registry() -> None:
    from harmone.models import naive_kind

    assert naive_kind() == "persistence"
    assert [kind for kind in ALL_KINDS if model_class(kind).naive_bar] == ["persistence"]


def test_a_kind_brings_its_own_warm_start_and_training_follows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kind registered outside the package continues from its serving version its own way:
    nothing in training names a kind."""
    import harmone.models as models
    from harmone.config import Config
    from harmone.training import can_warm_start, train, warm_share

    linear = model_class("linear")
    calls: list[str] = []

    class Resumable(linear):  # type: ignore[misc, valid-type]
        kind = "resumable"
        default_params = {**linear.default_params, "select": "fixed"}

        @classmethod
        def can_warm_start(cls, params: Any) -> bool:
            return True

        @classmethod
        def warm_share(cls, params: Any, warm_epochs: int) -> float:
            return 0.25

        def start_from(self, initial: Model, warm_epochs: int) -> bool:
            calls.append("start")
            return True

        def fit_from(self, X: np.ndarray, y: np.ndarray, initial: Model, **kwargs: Any) -> Any:
            calls.append("fit_from")
            return self.fit(X, y, **kwargs)

    kinds()  # discover the package's kinds first
    monkeypatch.setitem(models._KINDS._classes, "resumable", Resumable)
    config = Config()
    series = 10 + np.sin(np.arange(400) / 7.0)
    first = train("resumable", series, config)
    assert calls == [] and "warm_start" not in first.metrics
    again = train("resumable", series, config, retrain=True, initial=first.model)
    assert calls == ["start", "fit_from"] and again.metrics["warm_start"] is True
    assert can_warm_start(config, "resumable") and warm_share(config, "resumable", True) == 0.25
