"""A labelled stream on disk: numeric feature columns and one ``label`` column of class indices.

A classification workspace keeps its stream like a forecasting one (``data/train.csv`` and
``data/test.csv``), but each row is one record: its features and the class it belongs to.
Labels are stored as class indices 0..k-1 (an import maps the file's own labels to them, in
sorted order), so every model, metric and stored prediction speaks the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The column holding each record's class index.
LABEL_COLUMN = "label"


@dataclass(frozen=True, eq=False)
class LabelledData:
    """Records in stream order: features ``X`` (n, d) float64 and class indices ``y`` (n,) int64."""

    X: np.ndarray
    y: np.ndarray
    #: One name per feature column, in order (``x0``, ``x1``... for a generated stream).
    feature_names: tuple[str, ...]
    #: The original label of each class index (``"0"``..``"9"`` for digits).
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        X = np.array(self.X, dtype=np.float64, copy=True)
        y = np.array(self.y, dtype=np.int64, copy=True)
        if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
            raise ValueError(f"labelled data: features {X.shape} and labels {y.shape} do not match")
        if X.shape[1] != len(self.feature_names):
            raise ValueError(f"labelled data: {X.shape[1]} feature columns but {len(self.feature_names)} names")
        X.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "class_names", tuple(self.class_names))

    def __len__(self) -> int:
        return len(self.y)

    def take(self, rows: slice | np.ndarray) -> LabelledData:
        """The records at ``rows`` (a slice or index array), same columns and classes."""
        return LabelledData(self.X[rows], self.y[rows], self.feature_names, self.class_names)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)
