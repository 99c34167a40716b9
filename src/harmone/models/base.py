"""The contract every model kind meets: fit on encoded windows, predict, save to safe arrays.

A model sees encoded windows of the stream (shape ``(n, context)``) and predicts the encoded
next value; the encoding (the ``inputs`` hyperparameter every kind has: ``relative`` by
default, ``minmax`` as published) lives beside it in the model version (see ``scaling.py``).
Models persist as plain numeric arrays (``.npz`` read with ``allow_pickle=False``) plus
JSON parameters, so loading a model file can never execute code.
"""

from __future__ import annotations

import json
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from harmone.errors import ModelError
from harmone.models._selection import cost_in_fits
from harmone.params import Constraint, Interval, Options, validate
from harmone.scaling import MAX_CONTEXT, REPRESENTATIONS

ARRAYS_FILE = "model.npz"
PARAMS_FILE = "params.json"

#: Called after each training epoch (or step) with (done, total); drives progress bars.
Progress = Callable[[int, int], None]

#: Constraints of the hyperparameters shared by the kinds that have them (``harmone.params``):
#: the representation, how far back an input reaches (0: the stream window), and whether a
#: strength is chosen by validation.
INPUTS: Constraint = Options(REPRESENTATIONS)
CONTEXT: Constraint = Interval(int, 0, MAX_CONTEXT)
SELECT: Constraint = Options(("validation", "fixed"))


class Model(ABC):
    """One model kind. Settings are keyword-only and stored as passed; learned state ends in ``_``."""

    kind: ClassVar[str]
    #: The task whose records this kind learns: forecasting windows or classification features.
    task: ClassVar[str] = "forecasting"
    #: Published hyperparameters for the first training.
    default_params: ClassVar[Mapping[str, Any]]
    #: What each hyperparameter may be (``harmone.params``), one entry per key of ``default_params``.
    parameter_constraints: ClassVar[Mapping[str, Constraint]]
    #: Overrides applied when the model is retrained at runtime.
    default_retrain_params: ClassVar[Mapping[str, Any]] = {}
    #: Overrides of ``default_params`` that restore the published representation and
    #: hyperparameters (what ``--published-constants`` selects).
    published_params: ClassVar[Mapping[str, Any]] = {}
    #: Strengths ``select = "validation"`` chooses among; empty for a kind that chooses none.
    candidates: ClassVar[tuple[float, ...]] = ()
    #: The naive bar: a served model that predicts a batch worse than this kind is replaced by
    #: it (when it is served). Exactly one registered kind declares it (``models.naive_kind``).
    naive_bar: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.default_params)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown parameters: {sorted(unknown)}")
        self.params: dict[str, Any] = {**self.default_params, **params}

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` naming the parameter and its value when it breaks its constraint."""
        validate(cls.parameter_constraints, params)

    # -- warm start: how a retraining continues from the serving version -------------------

    @classmethod
    def keeps_selection(cls, params: Mapping[str, Any]) -> bool:
        """Whether, with ``params``, the kind validates a strength that a warm start can keep instead."""
        return bool(cls.candidates) and params.get("select") == "validation"

    @classmethod
    def can_warm_start(cls, params: Mapping[str, Any]) -> bool:
        """Whether a retraining with ``params`` can start from the serving version (``start_from``).

        By default a kind that validates a strength can: it keeps the serving version's choice
        and fits once. A kind that fine-tunes its fitted state overrides this.
        """
        return cls.keeps_selection(params)

    @classmethod
    def warm_share(cls, params: Mapping[str, Any], warm_epochs: int) -> float:
        """An estimate of the share of a from-scratch fit that a warm start with ``params`` costs.

        A kept strength costs one fit out of a validated fit's (``_selection.cost_in_fits``);
        1 when nothing is saved.
        """
        if cls.keeps_selection(params):
            return 1.0 / cost_in_fits(len(cls.candidates))
        return 1.0

    def start_from(self, initial: Model, warm_epochs: int) -> bool:
        """Set this unfitted model up to continue from ``initial`` (the serving version) where it
        can; whether it will (then ``fit_from`` fits it).

        By default a kind that validates a strength takes ``initial``'s choice and fits once.
        """
        chosen = getattr(initial, "selected_", None) or {}
        if self.params.get("select") != "validation" or not chosen or not set(chosen) <= set(self.params):
            return False
        self.params.update(chosen, select="fixed")
        return True

    def fit_from(self, X: np.ndarray, y: np.ndarray, initial: Model, *, seed: int = 0,
                 progress: Progress | None = None) -> Self:
        """Fit after ``start_from`` agreed to continue from ``initial``; by default an ordinary ``fit``
        (the kept choice is in ``params`` by then)."""
        return self.fit(X, y, seed=seed, progress=progress)

    def plan_context(self, series: np.ndarray, window: int) -> int:
        """How many past values each input holds, decided before windowing the fitting part ``series``.

        ``window`` is the stream's window; a ``context`` hyperparameter above 0 asks for a
        longer (or shorter) one. Kinds that learn how far back to look override this.
        """
        context = int(self.params.get("context", 0) or 0)
        return context or window

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0, progress: Progress | None = None) -> Self:
        """Learn from scaled windows ``X`` (n, window) and scaled targets ``y`` (n,)."""

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Scaled predictions for a batch of scaled windows."""

    #: Hyperparameters chosen while fitting (e.g. by validation), reported with the version.
    selected_: dict[str, Any]

    def predict_one(self, window: Sequence[float]) -> float:
        """One scaled prediction; kinds override this with a fast path for streaming."""
        return float(self.predict(np.asarray([window], dtype=np.float64))[0])

    @abstractmethod
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The learned state as named numeric arrays."""

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> Self:
        """Rebuild a fitted model from ``to_arrays`` output: checked settings, then ``_set_weights``."""
        model = cls(**params)
        cls.check_params(model.params)
        model._set_weights(arrays)
        return model

    def _set_weights(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Take the learned state from ``to_arrays`` output; kinds that keep the default ``from_arrays``
        implement it."""
        raise NotImplementedError(f"{type(self).__name__} restores no weights")

    def clone(self) -> Self:
        """A fresh, unfitted model with the same settings."""
        return type(self)(**self.params)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / ARRAYS_FILE, "wb") as handle:
            np.savez(handle, **self.to_arrays())
        (directory / PARAMS_FILE).write_text(json.dumps({"kind": self.kind, "params": self.params}, indent=2))

    @classmethod
    def load(cls, directory: Path) -> Self:
        directory = Path(directory)
        arrays_path = directory / ARRAYS_FILE
        params_path = directory / PARAMS_FILE
        try:
            stored = json.loads(params_path.read_text(encoding="utf-8"))
            if not isinstance(stored, dict) or not isinstance(stored.get("params", {}), dict):
                raise ModelError(f"{params_path}: expected a JSON object with a 'params' object,"
                                 f" found {type(stored).__name__}")
            if stored.get("kind") != cls.kind:
                raise ModelError(f"{params_path}: holds a {stored.get('kind')!r} model, expected {cls.kind!r}")
            with np.load(arrays_path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            for name, value in arrays.items():
                if not isinstance(value, np.ndarray):
                    raise ModelError(f"{arrays_path}: member {name!r} is not a .npy array")
                if value.dtype.kind not in "fiub":
                    raise ModelError(f"{arrays_path}: array {name!r} is not numeric ({value.dtype})")
            return cls.from_arrays(arrays, stored.get("params", {}))
        except ModelError:
            raise
        except FileNotFoundError as exc:
            raise ModelError(f"{exc.filename}: model file missing") from None
        except (ValueError, KeyError, OSError, zipfile.BadZipFile, json.JSONDecodeError, TypeError) as exc:
            raise ModelError(f"{directory}: corrupt or tampered model file ({exc})") from None

