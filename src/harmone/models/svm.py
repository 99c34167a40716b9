"""Support vector regression with a linear kernel: between Ridge and the LSTM in cost and accuracy.

Fitting uses scikit-learn (imported inside ``fit`` only); with a linear kernel the fitted
model reduces to primal weights, so serving and storage need nothing but numpy.

Two solvers reach the same epsilon-insensitive fit: libsvm's kernel SVR (published) and
liblinear's dual coordinate descent (default). On our streams their held-out R² agree
within 0.006 while liblinear needs about 2.5x less CPU per validated fit at the median
(docs/algorithm.md, "Cheaper retraining"); validation fits once per candidate and fold.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

from harmone.models import register
from harmone.models._selection import choose
from harmone.models.base import CONTEXT, INPUTS, SELECT, Progress
from harmone.models.linear import AffineModel, check_training_data
from harmone.params import Constraint, Interval, Options

#: Costs tried by validation, strongest regularisation (smallest C) first.
C_GRID = (0.001, 0.01, 0.1, 1.0)


#: Solvers by name; both fit ``min ||w||²/2 + C Σ max(0, |y - w·x - b| - epsilon)``.
SOLVERS = ("liblinear", "libsvm")
#: liblinear penalises the intercept as a weight on this constant input: large keeps it nearly free.
INTERCEPT_SCALING = 10.0
#: Coordinate-descent passes liblinear may make before it stops (far above what our fits need).
MAX_ITER = 10_000


def _svr(C: float, tol: float, epsilon: float, X: np.ndarray, y: np.ndarray,
         solver: str = "libsvm", seed: int = 0) -> tuple[np.ndarray, float]:
    from sklearn.exceptions import ConvergenceWarning

    if solver == "liblinear":
        from sklearn.svm import LinearSVR

        svr = LinearSVR(C=float(C), tol=float(tol), epsilon=float(epsilon), loss="epsilon_insensitive",
                        dual=True, intercept_scaling=INTERCEPT_SCALING, max_iter=MAX_ITER,
                        random_state=seed)  # its coordinate order is random: seeded, so a seed decides
    else:
        from sklearn.svm import SVR

        svr = SVR(kernel="linear", C=float(C), tol=float(tol), epsilon=float(epsilon))
    with warnings.catch_warnings():
        # A fit stopped at MAX_ITER is still the best found so far; the holdout judges it.
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        svr.fit(X, y)
    return np.asarray(svr.coef_).reshape(-1), float(np.asarray(svr.intercept_).reshape(-1)[0])


@register
class SvmModel(AffineModel):
    """A linear epsilon-SVR (``solver``: liblinear or libsvm) kept as ``coef_`` and ``intercept_``."""

    kind: ClassVar[str] = "svm"
    default_params: ClassVar[Mapping[str, Any]] = {
        "C": 0.05, "tol": 0.001, "epsilon": 0.1, "solver": "liblinear", "inputs": "relative",
        "select": "validation", "context": 0,
    }
    parameter_constraints: ClassVar[Mapping[str, Constraint]] = {
        "C": Interval(float, 0, None, closed="neither"), "tol": Interval(float, 0, None, closed="neither"),
        "epsilon": Interval(float, 0, None), "solver": Options(SOLVERS), "inputs": INPUTS, "select": SELECT,
        "context": CONTEXT,
    }
    published_params: ClassVar[Mapping[str, Any]] = {
        "tol": 0.16, "solver": "libsvm", "inputs": "minmax", "select": "fixed", "context": 0,
    }
    candidates: ClassVar[tuple[float, ...]] = C_GRID

    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0, progress: Progress | None = None) -> Self:
        """``seed`` orders liblinear's coordinates (libsvm is deterministic); ``C`` is validated or given."""
        self.check_params(self.params)
        X, y = check_training_data(X, y)
        tol, epsilon = float(self.params["tol"]), float(self.params["epsilon"])
        solver = str(self.params.get("solver", "libsvm"))
        C = float(self.params["C"])
        if self.params.get("select", "fixed") == "validation":
            def fit_predict(c: float, X_fit: np.ndarray, y_fit: np.ndarray, X_score: np.ndarray) -> np.ndarray:
                coef, intercept = _svr(c, tol, epsilon, X_fit, y_fit, solver, seed)
                return X_score @ coef + intercept

            C = choose(C_GRID, fit_predict, X, y, fallback=C)
        self.selected_ = {"C": C}
        self._set_coefficients(*_svr(C, tol, epsilon, X, y, solver, seed))
        if progress is not None:
            progress(1, 1)
        return self
