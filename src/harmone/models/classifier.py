"""What every classification kind shares: labelled records in, class indices out, a softmax head.

A classification kind sees encoded feature vectors (shape ``(n, d)``, already standardised
or scaled by the task) and class indices ``0 .. k-1`` stored as floats, so the training
pipeline can hand it the same ``(X, y)`` arrays as a forecasting kind. It learns
``n_classes_ = y.max() + 1`` and ``n_features_ = d``. A subclass computes the class scores
(logits) of a batch and of one record; this base turns them into class indices and
probabilities, checks widths and labels, and grows the output layer when a warm start meets
a class the serving version never saw.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np

from harmone.errors import ModelError
from harmone.models.base import Model, Progress
from harmone.models.linear import check_training_data


def check_labelled(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``fit``'s inputs as float features ``(n, d)`` and integer class indices ``(n,)``."""
    X, y = check_training_data(X, y)
    if not np.all(np.isfinite(X)):
        row = int(np.argwhere(~np.isfinite(X))[0, 0])
        raise ValueError(f"X holds a non-finite feature in row {row}")
    bad = ~np.isfinite(y) | (y < 0) | (y != np.floor(y))
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"y must hold class indices 0, 1, ...; row {row} holds {float(y[row])!r}")
    return X, y.astype(np.int64)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by each row's maximum so no exponent overflows."""
    z = logits - logits.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def grow_rows(weight: np.ndarray, bias: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """An output layer ``(k, h)``, ``(k,)`` with zero rows added up to ``n_classes`` rows.

    A zero row scores the new class 0 for every record; its gradient is not zero once the
    class appears in the records, so a warm start learns it while the old rows keep what they knew.
    """
    extra = n_classes - weight.shape[0]
    if extra <= 0:
        return weight, bias
    return (np.vstack([weight, np.zeros((extra, weight.shape[1]))]), np.concatenate([bias, np.zeros(extra)]))


class ClassifierModel(Model):
    """A model kind for classification records; subclasses give ``_logits`` and ``_logits_one``."""

    task: ClassVar[str] = "classification"

    n_features_: int
    n_classes_: int

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        # Nothing is chosen by validation; the training pipeline reports it with the version.
        self.selected_: dict[str, Any] = {}

    # -- warm start: continue from the serving weights ---------------------------------------

    @classmethod
    def can_warm_start(cls, params: Mapping[str, Any]) -> bool:
        """Always: a retraining continues from the serving version's weights (``fit_from``)."""
        return True

    def warm_arrays(self, X: np.ndarray, y: np.ndarray, initial: Model) -> dict[str, np.ndarray]:
        """``initial``'s arrays to continue from, checked against the new records' width, with
        the output layer (``out_weight``, ``out_bias``) grown to every class seen so far."""
        if not isinstance(initial, ClassifierModel) or type(initial) is not type(self):
            raise ValueError(f"a {self.kind} model warm-starts from a fitted {self.kind} model only")
        if X.shape[1] != initial.n_features_:
            raise ValueError(f"warm start needs records of {initial.n_features_} features, got {X.shape[1]}")
        arrays = initial.to_arrays()
        n_classes = max(initial.n_classes_, int(y.max()) + 1)
        arrays["out_weight"], arrays["out_bias"] = grow_rows(arrays["out_weight"], arrays["out_bias"], n_classes)
        return arrays

    # -- training -----------------------------------------------------------------------------

    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0, progress: Progress | None = None) -> Self:
        """Learn from features ``X`` (n, d) and class indices ``y`` (n,) from scratch."""
        self.check_params(self.params)
        X, labels = check_labelled(X, y)
        self._set_weights(self._train(X, labels, None, seed=seed, progress=progress))
        return self

    def fit_from(self, X: np.ndarray, y: np.ndarray, initial: Model, *, seed: int = 0,
                 progress: Progress | None = None) -> Self:
        """Continue from ``initial``'s weights on the new records (after ``start_from`` agreed)."""
        self.check_params(self.params)
        X, labels = check_labelled(X, y)
        start = self.warm_arrays(X, labels, initial)
        self._set_weights(self._train(X, labels, start, seed=seed, progress=progress))
        return self

    @abstractmethod
    def _train(self, X: np.ndarray, labels: np.ndarray, start: Mapping[str, np.ndarray] | None, *,
               seed: int, progress: Progress | None) -> dict[str, np.ndarray]:
        """The learned arrays (``to_arrays`` layout) after training from ``start`` (None: from scratch)."""

    # -- state --------------------------------------------------------------------------------

    @abstractmethod
    def _set_weights(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Check ``arrays`` against the settings and keep them (and what serving derives from them);
        sets ``n_features_`` and ``n_classes_``."""

    @abstractmethod
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The learned state; the output layer is always ``out_weight`` (k, h) and ``out_bias`` (k,)."""


    def _fitted(self) -> int:
        try:
            return self.n_features_
        except AttributeError:
            raise ModelError(f"{self.kind} model is not fitted") from None

    # -- serving ------------------------------------------------------------------------------

    @abstractmethod
    def _logits(self, X: np.ndarray) -> np.ndarray:
        """Class scores ``(n, k)`` of a checked batch ``(n, d)``."""

    @abstractmethod
    def _logits_one(self, x: np.ndarray) -> np.ndarray:
        """Class scores ``(k,)`` of one checked record ``(d,)``: the streaming path."""

    def _batch(self, X: np.ndarray) -> np.ndarray:
        d = self._fitted()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != d:
            raise ModelError(f"{self.kind} model expects a 2-D batch of {d} features, got shape {X.shape}")
        return X

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices (as floats) of a batch of records."""
        return np.argmax(self._logits(self._batch(X)), axis=1).astype(np.float64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_classes_)`` of a batch of records."""
        return softmax(self._logits(self._batch(X)))

    def predict_one(self, window: Sequence[float]) -> float:
        """The class index (as a float) of one record of ``n_features_`` values."""
        x = np.asarray(window, dtype=np.float64)
        if x.shape != (self._fitted(),):
            raise ModelError(f"{self.kind} model expects {self.n_features_} features, got shape {x.shape}")
        return float(self._logits_one(x).argmax())
