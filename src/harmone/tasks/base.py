"""The contract every task meets: what a record is, how it is scored, and what drift compares.

A task is the one place that knows the shape of the data. The serving engine, the MAPE-K
loops, the repository and the reports hold the task's data as opaque objects and ask it:

- how to read the stream and a training set from the workspace's files (``read_stream``,
  ``read_training``), and how a version's training snapshot is stored (``format_data``);
- what a served model reads to predict one record (``Stream.input_at``) and its true value
  (``Stream.target``): the last values of a series, or a record's features and its label;
- the metric (``accuracy``: R² or the share right) and the skill over the naive baseline
  every score is judged against (``skill``: over persistence, or Kappa-temporal over the
  no-change classifier);
- the error stream an error-fed detector reads (``errors``) and the one number per record
  that drift detection and version reuse compare (``signals``);
- how a kind is trained on its data (``train``) and evaluated on the newest data
  (``evaluate``), for first training, retraining and validated adaptation alike.

Predictions and true values are floats in the knowledge base whatever the task (a class is
its index), so the store, the switch loop's batches and the exports need no task at all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from harmone.config import Config
    from harmone.models.base import Model, Progress
    from harmone.training import TrainedModel


@dataclass(frozen=True)
class Evaluation:
    """One model on held-out records of the newest data: a loss (lower is better) and the task's metric."""

    #: Mean squared error (forecasting) or error rate (classification).
    loss: float
    #: The task's metric on the same records: R² or accuracy.
    score: float
    n_records: int


class Stream(ABC):
    """A stream in memory, as the serving engine reads it record by record."""

    #: The first record a model can predict (a forecast needs past values before it).
    first: int

    @abstractmethod
    def __len__(self) -> int:
        """Records in the stream."""

    @abstractmethod
    def input_at(self, position: int, width: int) -> Any:
        """What a served model reads to predict record ``position`` (``width``: its context)."""

    @abstractmethod
    def target(self, position: int) -> float:
        """The true value (or class index) of record ``position``."""

    @abstractmethod
    def data_at(self, positions: np.ndarray) -> Any:
        """The task's training data made of the records at ``positions`` (in that order)."""

    @abstractmethod
    def signals_at(self, positions: np.ndarray) -> np.ndarray:
        """``Task.signals`` of the records at ``positions``."""


class Task(ABC):
    """One kind of learning problem. Subclasses set the class attributes and implement the hooks."""

    #: Registry name, ``[stream] task = "<name>"``.
    name: ClassVar[str]
    #: The metric's name in reports and the dashboard: ``R²``, ``accuracy``.
    metric: ClassVar[str]
    #: The naive baseline every score is judged against: ``persistence``, ``no-change``.
    baseline: ClassVar[str]
    #: The skill over that baseline, as reports name it: ``skill``, ``kappa-temporal``.
    skill_name: ClassVar[str]
    #: The mean error, as reports name it: ``MAE``, ``error rate``.
    error_name: ClassVar[str]
    #: ``Evaluation.loss`` (what validated adaptation compares), as users read it: ``MSE``, ``error rate``.
    loss_name: ClassVar[str] = "held-out loss"
    #: Kinds served by default and the default model, when ``[stream]`` does not say.
    default_models: ClassVar[tuple[str, ...]]
    default_model: ClassVar[str]
    #: The kinds whose single-model baselines ``all`` compares, in order (the published three
    #: for forecasting).
    compared_kinds: ClassVar[tuple[str, ...]]
    #: Settings a new workspace of this task starts from, by section (``harmone init --task``):
    #: where the published constants, set for a traffic series, do not fit the task's streams.
    config_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    #: What ``harmone data synth`` builds for this task, by profile name.
    profiles: ClassVar[tuple[str, ...]] = ()
    #: True when a record is its true value (a series): the loops then need nothing but the
    #: logged values; otherwise they read each row's stream position and ask the stream.
    records_are_values: ClassVar[bool] = False

    def kinds(self) -> list[str]:
        """The registered model kinds that learn this task's records."""
        from harmone.models import kinds, model_class

        return [kind for kind in kinds() if model_class(kind).task == self.name]

    # -- files -----------------------------------------------------------------------------

    @abstractmethod
    def read_training(self, path: Path) -> Any:
        """The training data stored at ``path`` (the training split, a version's snapshot)."""

    @abstractmethod
    def read_stream(self, path: Path, config: Config) -> Stream:
        """The test stream stored at ``path``."""

    @abstractmethod
    def format_data(self, data: Any) -> str:
        """``data`` as the CSV text ``read_training`` reads back exactly."""

    @abstractmethod
    def size(self, data: Any) -> int:
        """Records in ``data``."""

    @abstractmethod
    def newest(self, data: Any, count: int) -> Any:
        """The newest ``count`` records of ``data``."""

    @abstractmethod
    def to_json(self, data: Any) -> dict[str, Any]:
        """``data`` as plain JSON (the retraining child's input)."""

    @abstractmethod
    def from_json(self, raw: Any) -> Any:
        """Read ``to_json`` output back; ``ValueError`` when malformed."""

    # -- scores ----------------------------------------------------------------------------

    @abstractmethod
    def accuracy(self, true: np.ndarray, predicted: np.ndarray) -> float:
        """The metric over aligned rows (R², the share right)."""

    @abstractmethod
    def skill(self, true: np.ndarray, predicted: np.ndarray, previous: np.ndarray) -> float:
        """Skill over the naive baseline, which predicts each row's ``previous`` true value."""

    @abstractmethod
    def errors(self, true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """One error per row for an error-fed detector (absolute error, or 1 for a wrong class)."""

    @abstractmethod
    def running_scores(self) -> Any:
        """Constant-memory scores over the batches of a long run: ``update(true, predicted)``, ``n``."""

    @abstractmethod
    def read_scores(self, scores: Any) -> tuple[float | None, float | None]:
        """The metric and the mean error (absolute error, or the share wrong) of ``running_scores``."""

    @abstractmethod
    def signals(self, data: Any) -> np.ndarray:
        """One number per record whose distribution drift detection and reuse compare."""

    # -- models ----------------------------------------------------------------------------

    @abstractmethod
    def train(self, kind: str, data: Any, config: Config, *, retrain: bool = False, seed: int = 0,
              progress: Progress | None = None, initial: Model | None = None) -> TrainedModel:
        """Fit ``kind`` on ``data`` and measure it on the chronological holdout."""

    @abstractmethod
    def evaluate(self, model: Any, data: Any, config: Config) -> Evaluation:
        """A served version (``repository.ServingModel``) on the held-out newest records of ``data``."""

    @abstractmethod
    def baseline_evaluation(self, data: Any, config: Config) -> Evaluation:
        """The naive baseline on the same held-out records as ``evaluate``."""

    @abstractmethod
    def min_records(self, config: Config) -> int:
        """Fewest records ``train`` accepts."""

    def describe(self, data: Any) -> dict[str, Any]:
        """A short summary of training data, stored in a version's metadata."""
        values = self.signals(data)
        if not len(values):
            return {"n": 0}
        return {"n": int(self.size(data)), "min": float(values.min()), "max": float(values.max()),
                "mean": float(values.mean()), "std": float(values.std())}

