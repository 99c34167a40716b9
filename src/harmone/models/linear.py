"""Ridge regression, the cheapest kind, and the affine predictor it shares with the SVR.

Ridge is solved in closed form with numpy (no scikit-learn import, so a retrain in the
serving process stays light); the result equals ``sklearn.linear_model.Ridge``.
Serving is a dot product of a handful of numbers plus a bias, done with plain Python
floats because, for a window of five, that beats any numpy call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import mul
from typing import Any, ClassVar, Self

import numpy as np

from harmone.errors import ModelError
from harmone.models import register
from harmone.models._selection import choose
from harmone.models.base import CONTEXT, INPUTS, SELECT, Model, Progress
from harmone.params import Constraint, Interval

#: Ridge strengths tried by validation, strongest first (inputs are in units of typical change).
ALPHA_GRID = (1e5, 1e4, 1e3, 100.0, 10.0, 1.0, 0.1)


def check_training_data(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shared shape checks for ``fit``: windows ``(n, window)`` and one target per window."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D array of windows, got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must hold one target per window ({X.shape[0]}), got shape {y.shape}")
    return X, y


class AffineModel(Model):
    """A model whose prediction is ``coef_ . window + intercept_``; kinds differ only in fitting."""

    coef_: np.ndarray
    intercept_: float

    def _set_coefficients(self, coef: np.ndarray, intercept: float) -> None:
        self.coef_ = np.ascontiguousarray(coef, dtype=np.float64).reshape(-1)
        self.intercept_ = float(intercept)
        # Python floats for the streaming path: no numpy dispatch per call.
        self._coef_floats = tuple(self.coef_.tolist())

    def _width_error(self, got: int) -> ModelError:
        return ModelError(f"{self.kind} model expects windows of {len(self._coef_floats)} values, got {got}")

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        try:
            coef = self._coef_floats
        except AttributeError:
            raise ModelError(f"{self.kind} model is not fitted") from None
        if X.ndim != 2 or X.shape[1] != len(coef):
            raise self._width_error(X.shape[-1] if X.ndim else 0)
        # Same order of operations as predict_one, so both give bit-identical results.
        out = np.full(X.shape[0], self.intercept_)
        for j, c in enumerate(coef):
            out += X[:, j] * c
        return out

    def predict_one(self, window: Sequence[float]) -> float:
        try:
            coef = self._coef_floats
        except AttributeError:
            raise ModelError(f"{self.kind} model is not fitted") from None
        if type(window) is np.ndarray:
            window = window.tolist()
        if len(window) != len(coef):
            raise self._width_error(len(window))
        return sum(map(mul, coef, window), self.intercept_)

    def to_arrays(self) -> dict[str, np.ndarray]:
        try:
            return {"coef": self.coef_.copy(), "intercept": np.asarray([self.intercept_])}
        except AttributeError:
            raise ModelError(f"{self.kind} model is not fitted") from None

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> Self:
        model = cls(**params)
        cls.check_params(model.params)
        coef = np.asarray(arrays["coef"], dtype=np.float64)
        intercept = np.asarray(arrays["intercept"], dtype=np.float64)
        if coef.ndim != 1 or coef.size == 0:
            raise ValueError(f"array 'coef' must be a non-empty vector, got shape {coef.shape}")
        if intercept.shape != (1,):
            raise ValueError(f"array 'intercept' must hold one value, got shape {intercept.shape}")
        if not (np.all(np.isfinite(coef)) and np.isfinite(intercept[0])):
            raise ValueError("weights are not finite")
        model._set_coefficients(coef, intercept[0])
        return model


def ridge(X: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Closed-form ridge on centred data, so the intercept is not penalised."""
    x_mean = X.mean(axis=0)
    y_mean = float(y.mean())
    Xc = X - x_mean
    gram = Xc.T @ Xc
    gram[np.diag_indices_from(gram)] += float(alpha)
    coef = np.linalg.lstsq(gram, Xc.T @ (y - y_mean), rcond=None)[0]
    return coef, y_mean - float(x_mean @ coef)


def _ridge_fit_predict(alpha: float, X: np.ndarray, y: np.ndarray, X_score: np.ndarray) -> np.ndarray:
    coef, intercept = ridge(X, y, alpha)
    return X_score @ coef + intercept


@register
class LinearModel(AffineModel):
    """Ridge regression (``fit_intercept=True``): cheap, least accurate.

    By default the strength is chosen from ``ALPHA_GRID`` by time-ordered validation
    (``select = "validation"``); ``select = "fixed"`` uses ``alpha`` as given (published).
    """

    kind: ClassVar[str] = "linear"
    default_params: ClassVar[Mapping[str, Any]] = {
        "alpha": 256.0, "inputs": "relative", "select": "validation", "context": 0,
    }
    parameter_constraints: ClassVar[Mapping[str, Constraint]] = {
        "alpha": Interval(float, 0, None), "inputs": INPUTS, "select": SELECT, "context": CONTEXT,
    }
    default_retrain_params: ClassVar[Mapping[str, Any]] = {"alpha": 200.0}
    published_params: ClassVar[Mapping[str, Any]] = {"inputs": "minmax", "select": "fixed", "context": 0}
    candidates: ClassVar[tuple[float, ...]] = ALPHA_GRID

    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0, progress: Progress | None = None) -> Self:
        """Ridge with the given or the validated strength."""
        self.check_params(self.params)
        X, y = check_training_data(X, y)
        alpha = float(self.params["alpha"])
        if self.params.get("select", "fixed") == "validation":
            alpha = choose(ALPHA_GRID, _ridge_fit_predict, X, y, fallback=alpha)
        self.selected_ = {"alpha": alpha}
        self._set_coefficients(*ridge(X, y, alpha))
        if progress is not None:
            progress(1, 1)
        return self
