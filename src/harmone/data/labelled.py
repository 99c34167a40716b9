"""A labelled stream on disk: numeric feature columns and one ``label`` column of class indices.

A classification workspace keeps its stream like a forecasting one (``data/train.csv`` and
``data/test.csv``), but each row is one record: its features and the class it belongs to.
Labels are stored as class indices 0..k-1 (an import maps the file's own labels to them, in
sorted order), so every model, metric and stored prediction speaks the same numbers.

On disk (``format_labelled`` / ``read_labelled``) a labelled file is CSV with a header row:
the feature names, then ``label``. Features are written in Python's shortest round-trip
form, so they read back bit for bit; labels are written as whole numbers. Reading is as
strict as for a series (``harmone.data.series``): a missing ``label`` column, a label that
is not a whole number from 0, a feature that is blank, not a number or not finite, a row
with the wrong number of fields and a file without rows are errors naming the file, the
line (the header is line 1), the column and the value. The class names of a file are its
indices, ``"0"`` to the largest label found.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harmone.data.series import (MAX_MAGNITUDE, check_value, column_index, header, plain_cells, plain_numbers,
                                 ratio_range, read_text, rows, train_size, write_split_texts)
from harmone.errors import DataError
from harmone.numerals import parse_int
from harmone.workspace import TEST_FILE, TRAIN_FILE

#: The column holding each record's class index.
LABEL_COLUMN = "label"
#: Most classes a stream may have (ImageNet's 1 000): a label column with more distinct
#: values is far more likely a numeric target or an identifier than classes.
MAX_CLASSES = 1000


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


# --- the file format ----------------------------------------------------------------------

def check_feature_names(names: tuple[str, ...], what: str) -> None:
    """Names that read back as written: non-empty, unique, unpadded, and none called ``label``."""
    seen: set[str] = set()
    for name in names:
        if not name or name != name.strip():
            raise DataError(f"{what}: feature name {name!r} is blank or padded with spaces")
        if name == LABEL_COLUMN:
            raise DataError(f"{what}: a feature cannot be called {LABEL_COLUMN!r}: that column holds the labels")
        if name in seen:
            raise DataError(f"{what}: feature name {name!r} appears twice")
        seen.add(name)


def _first_bad(data: LabelledData, what: str) -> None:
    """An error for the first feature that is not finite or too large, or label out of range."""
    bad = ~np.isfinite(data.X) | (np.abs(data.X) > MAX_MAGNITUDE)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        value = float(data.X[row, col])
        why = "not finite" if not np.isfinite(value) else f"beyond the supported magnitude {MAX_MAGNITUDE:g}"
        raise DataError(f"{what}: refusing to write value {value!r} of feature {data.feature_names[col]!r} "
                        f"at record {row}: {why}")
    wrong = np.flatnonzero((data.y < 0) | (data.y >= data.n_classes))
    if wrong.size:
        row = int(wrong[0])
        raise DataError(f"{what}: refusing to write label {int(data.y[row])} at record {row}: class indices "
                        f"run from 0 to {data.n_classes - 1} ({data.n_classes} classes)")


def format_labelled(data: LabelledData, what: str = "labelled data") -> str:
    """CSV text whose features read back bit for bit (shortest round-trip repr) and labels as integers."""
    check_feature_names(data.feature_names, what)
    _first_bad(data, what)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([*data.feature_names, LABEL_COLUMN])
    out.writelines(",".join(map(repr, features)) + f",{label}\n"
                   for features, label in zip(data.X.tolist(), data.y.tolist()))
    return out.getvalue()


def _class_names(y: np.ndarray) -> tuple[str, ...]:
    return tuple(str(i) for i in range(int(y.max()) + 1))


def _fast_parse(text: str, n_columns: int, label_index: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Features and labels of a clean file at C speed; ``None`` when anything looks unusual."""
    cells = plain_cells(text, n_columns)
    if cells is None or not plain_numbers(cells):
        return None
    labels = cells[label_index::n_columns]
    del cells[label_index::n_columns]
    try:
        X = np.fromiter(map(float, cells), dtype=np.float64, count=len(cells)).reshape(len(labels), n_columns - 1)
        y = np.fromiter(map(int, labels), dtype=np.int64, count=len(labels))
    except ValueError:
        return None
    if not bool(np.all(np.abs(X) <= MAX_MAGNITUDE)) or y.min() < 0 or y.max() >= MAX_CLASSES:  # nan fails too
        return None
    return X, y


def _check_label(path: Path, line: int, raw: str) -> int:
    where = f"{path}: line {line}, column {LABEL_COLUMN!r}"
    if not raw.strip():
        raise DataError(f"{where}: blank label")
    try:
        value = parse_int(raw)
    except ValueError:
        value = -1
    if not 0 <= value < MAX_CLASSES:
        raise DataError(f"{where}: {raw!r} is not a class index (a whole number from 0 to {MAX_CLASSES - 1})")
    return value


def _careful_parse(path: Path, text: str, names: list[str], label_index: int) -> tuple[np.ndarray, np.ndarray]:
    """CSV parsing with line numbers: the first bad cell is reported."""
    features: list[list[float]] = []
    labels: list[int] = []
    for line, row in rows(path, text):
        if len(row) != len(names):
            raise DataError(f"{path}: line {line}: {len(row)} fields but the header has {len(names)}"
                            f"{' (a blank line?)' if not row else ''}")
        labels.append(_check_label(path, line, row[label_index]))
        features.append([check_value(path, line, name, raw)
                         for i, (name, raw) in enumerate(zip(names, row)) if i != label_index])
    if not labels:
        raise DataError(f"{path}: no data rows below the header")
    return np.asarray(features, dtype=np.float64).reshape(len(labels), len(names) - 1), np.asarray(labels)


def read_labelled(path: Path) -> LabelledData:
    """A labelled file as written by ``format_labelled``; any unusable cell is an error naming it."""
    path = Path(path)
    text = read_text(path)
    names = header(path, text)
    label_index = column_index(path, names, LABEL_COLUMN)
    feature_names = tuple(n for i, n in enumerate(names) if i != label_index)
    if not feature_names:
        raise DataError(f"{path}: no feature columns besides {LABEL_COLUMN!r}")
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise DataError(f"{path}: column {duplicate!r} appears twice in the header")
    parsed = _fast_parse(text, len(names), label_index) or _careful_parse(path, text, names, label_index)
    X, y = parsed
    return LabelledData(X, y, feature_names, _class_names(y))


# --- splitting and storing ----------------------------------------------------------------

def split_labelled(data: LabelledData, train_ratio: float, *, min_train: int,
                   min_test: int) -> tuple[LabelledData, LabelledData]:
    """The leading ``train_ratio`` share of the records (in stream order) trains; the rest is the test stream.

    Either part shorter than its minimum is an error naming the sizes and the train ratios
    that would work; so is a training part holding one class only (a file sorted by label
    gives that), since no classifier can be fitted on it.
    """
    if not 0.0 < train_ratio < 1.0:
        raise DataError(f"train_ratio must be between 0 and 1 (exclusive), got {train_ratio}")
    n = len(data)
    n_train = train_size(n, train_ratio)
    n_test = n - n_train
    if n_train < min_train or n_test < min_test:
        span = ratio_range(n, min_train, min_test)
        if span is None:
            raise DataError(f"{n} records are too few: training needs at least {min_train} and the test stream "
                            f"{min_test}; use at least {min_train + min_test} records")
        if n_train < min_train:
            raise DataError(f"the training part would have {n_train} records ({n} records x train ratio "
                            f"{train_ratio:g}) but needs at least {min_train}; use --train-ratio {span[0]:g} or more")
        raise DataError(f"the test stream would have {n_test} records ({n} records, train ratio {train_ratio:g}) "
                        f"but needs at least {min_test}; use --train-ratio {span[1]:g} or less")
    train, test = data.take(slice(0, n_train)), data.take(slice(n_train, None))
    classes = np.unique(train.y)
    if len(classes) == 1:
        only = data.class_names[int(classes[0])]
        raise DataError(f"the training part (the first {n_train} of {n} records) holds only class {only!r}; "
                        f"a classifier needs at least two. Are the rows sorted by label? Records stay in "
                        f"file order, so mix the classes in the file or raise --train-ratio")
    return train, test


def write_labelled_split(data_dir: Path, train: LabelledData, test: LabelledData) -> tuple[Path, Path]:
    """Both files of a labelled split, crash-safe as ``series.write_split_texts``; checked before writing."""
    data_dir = Path(data_dir)
    if train.feature_names != test.feature_names:
        raise DataError(f"{data_dir}: the training and test records have different feature columns")
    test_text = format_labelled(test, str(data_dir / TEST_FILE))
    train_text = format_labelled(train, str(data_dir / TRAIN_FILE))
    return write_split_texts(data_dir, train_text, test_text)
