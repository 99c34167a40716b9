"""The words a user reads for a task's figures, in one place for the command line and the dashboard.

The knowledge base keeps its first key names whatever the task (``r2``, ``holdout_r2``,
``candidate_mse``, ``serving_mse``: docs/tasks.md, "Known limits"); what is shown names
what they hold: the task's metric (R², accuracy), its skill over the naive baseline (skill
over persistence, Kappa-temporal over no-change), its mean error (MAE, error rate), and the
loss validated adaptation compares (mean squared error, error rate).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from harmone.tasks import Task

@dataclass(frozen=True)
class TaskWords:
    """A task's figures as a user reads them (``to_dict``: what the dashboard sends its pages once)."""

    task: str
    #: The metric: ``R²``, ``accuracy`` (stored as ``r2``).
    metric: str
    #: The skill over the naive baseline: ``skill``, ``kappa-temporal``.
    skill: str
    #: The naive baseline: ``persistence``, ``no-change``.
    baseline: str
    #: The mean error: ``MAE``, ``error rate`` (stored as ``mae``).
    error: str
    #: The held-out loss of validated adaptation: ``MSE``, ``error rate`` (stored as ``*_mse``).
    loss: str
    #: True when a record is its true value (a series): predictions and truth can share an axis.
    values: bool

    @property
    def skill_over(self) -> str:
        """``skill over persistence``, ``kappa-temporal over no-change``."""
        return f"{self.skill} over {self.baseline}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "skill_over": self.skill_over}


def decision_name(decision: str, said: TaskWords) -> str:
    """A stored decision as the task reads it: the drift loop's ``below-persistence`` (the candidate
    lost to the naive baseline) is ``below-no-change`` on a classification stream."""
    return f"below-{said.baseline}" if decision == "below-persistence" else decision


def words(task: Task) -> TaskWords:
    return TaskWords(task=task.name, metric=task.metric, skill=task.skill_name, baseline=task.baseline,
                     error=task.error_name, loss=task.loss_name,
                     values=task.records_are_values)
