"""``ewma``: predicts an exponentially weighted mean of the window; the weight is fitted on the training data.

Numpy only, stored as one array, so it serves at about the cost of the linear model.
"""

from typing import Any, ClassVar

import numpy as np

from harmone.errors import ModelError
from harmone.models.base import INPUTS, Model
from harmone.models.linear import check_training_data
from harmone.params import Interval

#: Smoothing weights tried when ``alpha`` is 0 (fit it).
ALPHAS = np.linspace(0.05, 1.0, 20)


def _weights(alpha: float, width: int) -> np.ndarray:
    """Weights of the window's values, oldest first, summing to one."""
    w = alpha * (1.0 - alpha) ** np.arange(width)[::-1]
    return w / w.sum()


class EwmaModel(Model):
    kind: ClassVar[str] = "ewma"
    default_params: ClassVar[dict[str, Any]] = {"inputs": "relative", "alpha": 0.0}
    parameter_constraints: ClassVar[dict[str, Any]] = {"inputs": INPUTS, "alpha": Interval(float, 0, 1)}

    def fit(self, X, y, *, seed=0, progress=None):
        self.check_params(self.params)
        X, y = check_training_data(X, y)
        alphas = [float(self.params["alpha"])] if self.params["alpha"] else ALPHAS
        errors = [float(np.mean((X @ _weights(a, X.shape[1]) - y) ** 2)) for a in alphas]
        self.alpha_ = float(alphas[int(np.argmin(errors))])
        self.selected_ = {"alpha": self.alpha_}
        if progress is not None:
            progress(1, 1)
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=np.float64)
        return X @ self._weights(X.shape[1])

    def _weights(self, width):
        if not hasattr(self, "alpha_"):
            raise ModelError("ewma model is not fitted")
        if getattr(self, "_cached", (None,))[0] != width:  # computed once per window width
            self._cached = (width, _weights(self.alpha_, width).tolist())
        return self._cached[1]

    def predict_one(self, window):
        return float(sum(w * x for w, x in zip(self._weights(len(window)), window)))

    def to_arrays(self):
        return {"alpha": np.asarray([self.alpha_])}

    @classmethod
    def from_arrays(cls, arrays, params):
        model = cls(**params)
        alpha = np.asarray(arrays["alpha"], dtype=np.float64)
        if alpha.shape != (1,) or not 0 < alpha[0] <= 1:
            raise ValueError(f"array 'alpha' must hold one weight in (0, 1], got {alpha!r}")
        model.alpha_ = float(alpha[0])
        return model
