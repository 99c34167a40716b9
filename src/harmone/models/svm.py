"""Support vector regression with a linear kernel: between Ridge and the LSTM in cost and accuracy.

Fitting uses scikit-learn (imported inside ``fit`` only); with a linear kernel the fitted
model reduces to primal weights, so serving and storage need nothing but numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

from harmone.models import register
from harmone.models.base import Progress
from harmone.models.linear import AffineModel, check_training_data


@register
class SvmModel(AffineModel):
    """``sklearn.svm.SVR(kernel="linear", C, tol, epsilon)`` kept as ``coef_`` and ``intercept_``."""

    kind: ClassVar[str] = "svm"
    default_params: ClassVar[Mapping[str, Any]] = {"C": 0.05, "tol": 0.16, "epsilon": 0.1}

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        for name in ("C", "tol", "epsilon"):
            value = params[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if params["C"] <= 0:
            raise ValueError(f"C must be > 0, got {params['C']!r}")
        if params["tol"] <= 0:
            raise ValueError(f"tol must be > 0, got {params['tol']!r}")
        if params["epsilon"] < 0:
            raise ValueError(f"epsilon must be >= 0, got {params['epsilon']!r}")

    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0, progress: Progress | None = None) -> Self:
        """libsvm's SVR is deterministic, so ``seed`` has nothing to drive."""
        from sklearn.svm import SVR

        self.check_params(self.params)
        X, y = check_training_data(X, y)
        svr = SVR(kernel="linear", C=float(self.params["C"]), tol=float(self.params["tol"]),
                  epsilon=float(self.params["epsilon"]))
        svr.fit(X, y)
        self._set_weights(np.asarray(svr.coef_).reshape(-1), float(np.asarray(svr.intercept_).reshape(-1)[0]))
        if progress is not None:
            progress(1, 1)
        return self
