"""Multinomial logistic regression: the cheapest classification kind.

Fitted in numpy (no torch or scikit-learn import, so a retraining in the serving process
stays light) by full-batch L-BFGS on the mean cross-entropy plus
``alpha / 2 * ||W||²`` (the intercepts are not penalised). The objective is smooth and, with
``alpha > 0``, strongly convex, so the solution does not depend on where the solver starts:
a warm start (from the serving weights) reaches the model a fit from scratch would, and is
there for the contract's sake and for a class the serving version never saw. Serving is one
matrix-vector product.

Persisted arrays: ``out_weight`` (k, d) and ``out_bias`` (k,).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from harmone.models import register
from harmone.models.base import Model, Progress
from harmone.models.classifier import ClassifierModel
from harmone.params import Constraint, Interval

#: Past steps L-BFGS remembers to shape its direction (the usual choice: 10 is plenty).
MEMORY = 10
#: Armijo's sufficient-decrease constant and the backtracking factor of the line search.
ARMIJO = 1e-4
BACKTRACK = 0.5
#: Halvings of a step before the line search gives up (the direction is no longer useful).
MAX_HALVINGS = 40


class _Objective:
    """The mean cross-entropy of a softmax over ``X @ W + b`` plus ``alpha / 2 * ||W||²``, in
    ``theta`` ((d+1, k): the weights, then the intercepts, which are not penalised)."""

    def __init__(self, X: np.ndarray, labels: np.ndarray, n_classes: int, alpha: float) -> None:
        n, d = X.shape
        self.Xa = np.hstack([X, np.ones((n, 1))])
        self.rows = np.arange(n)
        self.labels = labels
        self.onehot = np.zeros((n, n_classes))
        self.onehot[self.rows, labels] = 1.0
        self.penalty = np.full((d + 1, 1), alpha)
        self.penalty[-1] = 0.0

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The value and the gradient at ``theta``."""
        logits = self.Xa @ theta
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        total = exp.sum(axis=1)
        n = self.Xa.shape[0]
        value = float(np.log(total).sum() - logits[self.rows, self.labels].sum()) / n
        value += 0.5 * float((self.penalty * theta * theta).sum())
        exp /= total[:, None]
        exp -= self.onehot
        grad = self.Xa.T @ exp
        grad /= n
        grad += self.penalty * theta
        return value, grad


def solve(X: np.ndarray, labels: np.ndarray, n_classes: int, alpha: float, tol: float, max_iter: int,
          start: np.ndarray | None, progress: Progress | None) -> tuple[np.ndarray, int]:
    """Weights and intercepts ``(d+1, k)`` minimising the penalised cross-entropy, and the steps taken.

    L-BFGS (Nocedal and Wright, *Numerical Optimization*, algorithm 7.4) with a backtracking
    Armijo line search; stops when no gradient entry exceeds ``tol``, after ``max_iter``
    steps, or when the line search finds no decrease (at the optimum up to rounding).
    """
    objective = _Objective(X, labels, n_classes, alpha)
    theta = np.zeros((X.shape[1] + 1, n_classes)) if start is None else np.array(start, dtype=np.float64)
    value, grad = objective(theta)
    history: list[tuple[np.ndarray, np.ndarray, float]] = []  # (s, y, 1 / y·s), oldest first
    steps = 0
    while steps < max_iter and np.abs(grad).max() > tol:
        steps += 1
        direction = -grad
        weights = []
        for s, y, rho in reversed(history):
            a = rho * np.vdot(s, direction)
            direction -= a * y
            weights.append(a)
        if history:
            s, y, _ = history[-1]
            direction *= np.vdot(s, y) / np.vdot(y, y)
        else:
            direction /= max(1.0, float(np.abs(grad).sum()))  # a first step of modest length
        for (s, y, rho), a in zip(history, reversed(weights)):
            direction += (a - rho * np.vdot(y, direction)) * s
        slope = float(np.vdot(grad, direction))
        if slope >= 0.0:  # not a descent direction (rounding): forget the curvature, go downhill
            history.clear()
            direction, slope = -grad, -float(np.vdot(grad, grad))
        length = 1.0
        for _ in range(MAX_HALVINGS):
            new_theta = theta + length * direction
            new_value, new_grad = objective(new_theta)
            if new_value <= value + ARMIJO * length * slope:
                break
            length *= BACKTRACK
        else:
            break
        s, y = new_theta - theta, new_grad - grad
        curvature = float(np.vdot(y, s))
        if curvature > 1e-12 * float(np.vdot(y, y)):
            history.append((s, y, 1.0 / curvature))
            del history[:-MEMORY]
        theta, value, grad = new_theta, new_value, new_grad
        if progress is not None:
            progress(steps, max_iter)
    if progress is not None:
        progress(max_iter, max_iter)
    return theta, steps


@register
class LogisticModel(ClassifierModel):
    """Softmax regression with an L2 penalty of strength ``alpha`` on the weights."""

    kind: ClassVar[str] = "logistic"
    default_params: ClassVar[Mapping[str, Any]] = {"alpha": 0.001, "max_iter": 500, "tol": 1e-5}
    parameter_constraints: ClassVar[Mapping[str, Constraint]] = {
        "alpha": Interval(float, 0, None), "max_iter": Interval(int, 1, None),
        "tol": Interval(float, 0, None, closed="neither"),
    }

    out_weight_: np.ndarray
    out_bias_: np.ndarray
    #: Solver steps the last fit took (not persisted).
    n_iter_: int

    # -- warm start: start the solver at the serving weights -----------------------------------

    @classmethod
    def warm_share(cls, params: Mapping[str, Any], warm_epochs: int) -> float:
        """1: the solver runs to the same tolerance from either start, and no saving is promised.

        From the serving weights L-BFGS needs about as many steps as from zero, sometimes more
        (``benchmarks/bench_classifiers`` counts both on occluded digits: ``warm_steps``,
        ``cold_steps``); a fit costs milliseconds either way.
        """
        return 1.0

    def start_from(self, initial: Model, warm_epochs: int) -> bool:
        """Start the solver at ``initial``'s weights (it reaches the same optimum)."""
        return type(initial) is type(self)

    # -- training -------------------------------------------------------------------------------

    def _train(self, X: np.ndarray, labels: np.ndarray, start: Mapping[str, np.ndarray] | None, *,
               seed: int, progress: Progress | None) -> dict[str, np.ndarray]:
        """Deterministic: ``seed`` is not used (the objective has one optimum)."""
        n_classes = int(labels.max()) + 1
        theta0 = None
        if start is not None:
            n_classes = start["out_weight"].shape[0]
            theta0 = np.vstack([start["out_weight"].T, start["out_bias"][None, :]])
        theta, self.n_iter_ = solve(X, labels, n_classes, float(self.params["alpha"]), float(self.params["tol"]),
                                    int(self.params["max_iter"]), theta0, progress)
        return {"out_weight": theta[:-1].T.copy(), "out_bias": theta[-1].copy()}

    # -- state ----------------------------------------------------------------------------------

    def _set_weights(self, arrays: Mapping[str, np.ndarray]) -> None:
        weight = np.array(arrays["out_weight"], dtype=np.float64)
        bias = np.array(arrays["out_bias"], dtype=np.float64)
        if weight.ndim != 2 or 0 in weight.shape:
            raise ValueError(f"array 'out_weight' must be a non-empty matrix, got shape {weight.shape}")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"array 'out_bias' must hold {weight.shape[0]} values, got shape {bias.shape}")
        if not (np.all(np.isfinite(weight)) and np.all(np.isfinite(bias))):
            raise ValueError("weights are not finite")
        self.out_weight_, self.out_bias_ = weight, bias
        self._weight_t = np.ascontiguousarray(weight.T)  # (d, k): x @ W' without a transpose per call
        self.n_classes_, self.n_features_ = weight.shape

    def to_arrays(self) -> dict[str, np.ndarray]:
        self._fitted()
        return {"out_weight": self.out_weight_.copy(), "out_bias": self.out_bias_.copy()}

    # -- serving --------------------------------------------------------------------------------

    def _logits(self, X: np.ndarray) -> np.ndarray:
        return X @ self._weight_t + self.out_bias_

    #: One record is the same product with a vector: no reshaping on the streaming path.
    _logits_one = _logits
