"""Import a numeric series from CSV files: PeMS station exports, prices, loads, readings.

Rules (docs/data.md repeats them for users):

- Each file has a header row. The delimiter (comma, semicolon, tab or pipe) is detected
  from the first lines unless given; header names may be quoted or padded with spaces
  (``"day", "DPB"`` names the columns ``day`` and ``DPB``).
- The named column is read, others ignored. Without a name: the PeMS flow column when the
  header has it, else the only column besides the time column.
- Files are concatenated in natural path order: ``2.csv`` before ``10.csv``, because
  exports are usually numbered by month or week, and plain string order would put ``10``
  before ``2`` and silently scramble the series in time.
- Thousands separators are accepted: ``"1,234"`` (a quoted field, as PeMS writes it) and
  ``1,234.5`` read as numbers. Only the strict pattern counts (groups of exactly three
  digits), so a decimal comma such as ``"1,5"`` is an error, not 15. An unquoted decimal
  comma in a comma-separated file shows as a row with more fields than the header: an
  error, never a silently truncated value. ``decimal=","`` reads decimal commas.
- A blank cell or ``NaN`` is an error unless ``fill="interpolate"``: gaps are then filled
  linearly between their neighbours (across file boundaries, since the files form one
  series), and leading or trailing gaps take the nearest value.
- Infinite values and magnitudes beyond ``MAX_MAGNITUDE`` are errors. Negative values are
  errors only for a series declared non-negative; the PeMS flow column always is (a count).
- A time column, when named, is kept as text beside the values for plots and reports; each
  stamp must be a date (and time) later than the one before (``harmone.data.timestamps``).

``read_labelled_csv`` reads the same kinds of files as a classification stream: one label
column, every other column a numeric feature (docs/data.md, "Classification streams").
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from harmone.data.labelled import LABEL_COLUMN, MAX_CLASSES, LabelledData
from harmone.data.series import (DELIMITERS, MAX_MAGNITUDE, check_magnitude, column_index, header, plain_cells,
                                 plain_numbers, ratio_range, read_text, rows, split, train_size, write_split)
from harmone.data.timestamps import Stamp, check_stamps
from harmone.errors import DataError
from harmone.numerals import parse_float

PEMS_COLUMN = "Flow (Veh/5 Minutes)"
FILLS = ("interpolate",)
DECIMALS = (".", ",")

_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")
_THOUSANDS_DOT = re.compile(r"[+-]?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]*)?")
_DIGITS = re.compile(r"([0-9]+)")
#: A cell that looks like a date or a time of day (a text column's likely content).
_STAMP_LIKE = re.compile(r"[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}|[0-9]{1,2}:[0-9]{2}")
_MISSING = {"", "nan", "NaN", "NAN", "null", "NULL", "NA", "N/A", "n/a"}
#: Lines looked at to detect the delimiter.
_SNIFF_LINES = 30


@dataclass(frozen=True)
class Imported:
    """An imported series: the values, the time stamps (or None) and where they came from."""

    values: np.ndarray
    times: list[str] | None
    column: str
    files: tuple[Path, ...]


@dataclass(frozen=True)
class _Format:
    """How the cells of one import are read."""

    column: str | None
    time_column: str | None
    delimiter: str | None
    decimal: str
    non_negative: bool | None
    allow_gaps: bool


def natural_key(path: Path) -> tuple[tuple[int, object], ...]:
    """Sort key that compares digit runs as numbers: ``2.csv`` < ``10.csv``."""
    parts = _DIGITS.split(str(path))
    return tuple((0, int(part)) if part.isascii() and part.isdigit() else (1, part) for part in parts)


def detect_delimiter(text: str, *, decimal: str = ".") -> str:
    """The delimiter that splits the header into most fields that the rows agree with.

    Candidates are comma, semicolon, tab and pipe (not the decimal mark). A file whose
    header does not split is one column: comma (semicolon when comma is the decimal mark).
    """
    lines = [line for line in text.splitlines()[:_SNIFF_LINES] if line.strip()]
    best: tuple[float, int] = (0.0, 1)
    chosen = None
    for candidate in DELIMITERS:
        if candidate == decimal:
            continue
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=candidate, skipinitialspace=True)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        agree = sum(count == counts[0] for count in counts) / len(counts)
        if (agree, counts[0]) > best:
            best, chosen = (agree, counts[0]), candidate
    if chosen is not None:
        return chosen
    return "," if decimal != "," else ";"


def _shown(delimiter: str) -> str:
    return "'\\t'" if delimiter == "\t" else repr(delimiter)


def _resolve_column(path: Path, names: list[str], fmt: _Format) -> str:
    """The column to read: as given, else PeMS flow if present, else the only other column."""
    if fmt.column is not None:
        return fmt.column
    if PEMS_COLUMN in names:
        return PEMS_COLUMN
    others = [n for n in names if n != fmt.time_column]
    if len(others) == 1:
        return others[0]
    column_index(path, names, PEMS_COLUMN, fmt.delimiter or ",")  # raises, listing the columns
    raise AssertionError("unreachable")


def _number(text: str, decimal: str) -> str:
    """Cell text in Python's float syntax: thousands separators dropped, decimal point."""
    if decimal == ",":
        if _THOUSANDS_DOT.fullmatch(text):
            text = text.replace(".", "")
        return text.replace(",", ".")
    if _THOUSANDS.fullmatch(text):
        return text.replace(",", "")
    return text


def _parse(path: Path, line: int, column: str, raw: str, fmt: _Format, hint: str = "") -> float:
    """One cell as a value; NaN marks a gap the caller may fill. ``hint`` ends a not-a-number error."""
    text = raw.strip()
    if text in _MISSING:
        return math.nan
    where = f"{path}: line {line}, column {column!r}"
    try:
        value = parse_float(_number(text, fmt.decimal))
    except ValueError:
        if hint:
            hint = f"; {hint}" + (" (time stamps are not features)" if _STAMP_LIKE.search(raw) else "")
        raise DataError(f"{where}: {raw!r} is not a number{hint}") from None
    check_magnitude(where, raw, value)
    non_negative = column == PEMS_COLUMN if fmt.non_negative is None else fmt.non_negative
    if value < 0 and non_negative:
        why = " (a PeMS flow is a count)" if column == PEMS_COLUMN else ""
        raise DataError(f"{where}: {raw!r} is negative, but the series is declared non-negative{why}")
    return value


def _too_many_fields(path: Path, line: int, row: list[str], n_names: int, delimiter: str) -> DataError:
    hint = ""
    if delimiter == ",":
        hint = ("; a decimal comma? quote such values, use --decimal ',' "
                "(with --delimiter ';' for semicolon-separated files), or write a decimal point")
    shown = delimiter.join(row)
    return DataError(f"{path}: line {line}: {len(row)} fields ({shown!r}) but the header has {n_names}{hint}")


def _read_file(path: Path, fmt: _Format) -> tuple[str, np.ndarray, list[Stamp] | None]:
    """The file's column (name, values) and its time stamps when a time column is named."""
    text = read_text(path)
    delimiter = fmt.delimiter or detect_delimiter(text, decimal=fmt.decimal)
    names = header(path, text, delimiter)
    column = _resolve_column(path, names, fmt)
    if column == fmt.time_column:
        raise DataError(f"{path}: column {column!r} cannot hold both the values and the time stamps")
    index = column_index(path, names, column, delimiter)
    time_index = column_index(path, names, fmt.time_column, delimiter) if fmt.time_column else None
    values: list[float] = []
    times: list[Stamp] = []
    for line, row in rows(path, text, delimiter):
        if len(row) > len(names) and any(cell.strip() for cell in row[len(names):]):
            raise _too_many_fields(path, line, row, len(names), delimiter)
        if len(row) <= index:
            if row and not fmt.allow_gaps:
                raise DataError(f"{path}: line {line}: only {len(row)} fields, "
                                f"no value for column {column!r}")
            raw = ""
        else:
            raw = row[index]
        value = _parse(path, line, column, raw, fmt)
        if math.isnan(value) and not fmt.allow_gaps:
            what = "blank value" if not raw.strip() else f"{raw!r} is a missing value"
            raise DataError(f"{path}: line {line}, column {column!r}: {what} "
                            f"(use --fill interpolate to fill gaps)")
        values.append(value)
        if time_index is not None:
            stamp = row[time_index].strip() if len(row) > time_index else ""
            times.append(Stamp(path, line, str(fmt.time_column), stamp))
    if not values:
        raise DataError(f"{path}: no data rows below the header")
    return column, np.asarray(values, dtype=np.float64), times if time_index is not None else None


def interpolate_gaps(values: np.ndarray) -> np.ndarray:
    """NaNs filled linearly between known neighbours; edges take the nearest known value."""
    values = np.asarray(values, dtype=np.float64)
    known = ~np.isnan(values)
    if known.all():
        return values.copy()
    positions = np.arange(len(values))
    # np.interp holds the end values constant beyond the known range: nearest at edges.
    return np.interp(positions, positions[known], values[known])


def _check_options(fill: str | None, delimiter: str | None, decimal: str) -> None:
    if fill is not None and fill not in FILLS:
        raise DataError(f"unknown fill {fill!r} (known: {', '.join(FILLS)})")
    if delimiter is not None and delimiter not in DELIMITERS:
        known = ", ".join(_shown(d) for d in DELIMITERS)
        raise DataError(f"unknown delimiter {_shown(delimiter)} (known: {known})")
    if decimal not in DECIMALS:
        raise DataError(f"unknown decimal mark {decimal!r} (known: '.', ',')")
    if delimiter is not None and delimiter == decimal:
        raise DataError(f"the delimiter and the decimal mark cannot both be {delimiter!r}")


def _ordered(files: Sequence[Path]) -> list[Path]:
    """The input files in natural path order; none, or one given twice, is an error."""
    if not files:
        raise DataError("no input files given")
    paths = sorted((Path(f) for f in files), key=natural_key)
    seen: set[Path] = set()
    for path in paths:
        if path in seen:
            raise DataError(f"{path}: given more than once")
        seen.add(path)
    return paths


def read_csv_series(files: Sequence[Path], *, column: str | None = None, fill: str | None = None,
                    delimiter: str | None = None, time_column: str | None = None,
                    non_negative: bool | None = None, decimal: str = ".") -> Imported:
    """One float64 series from ``files`` in natural path order (see the module rules).

    ``non_negative=None`` checks the sign only for the PeMS flow column.
    """
    _check_options(fill, delimiter, decimal)
    paths = _ordered(files)
    fmt = _Format(column, time_column, delimiter, decimal, non_negative, fill is not None)
    parts: list[np.ndarray] = []
    stamps: list[Stamp] = []
    for path in paths:
        found, values, times = _read_file(path, fmt)
        fmt = replace(fmt, column=found)  # later files must have the same column
        parts.append(values)
        stamps.extend(times or [])
    values = np.concatenate(parts)
    check_stamps(stamps)
    if np.isnan(values).all():
        names = ", ".join(str(p) for p in paths)
        raise DataError(f"{names}: column {fmt.column!r} has no values at all, nothing to interpolate from")
    if fill == "interpolate":
        values = interpolate_gaps(values)
    times = [stamp.text for stamp in stamps] if time_column else None
    return Imported(values, times, str(fmt.column), tuple(paths))


def import_csv(files: Sequence[Path], *, column: str | None = None, fill: str | None = None,
               delimiter: str | None = None, non_negative: bool | None = None,
               decimal: str = ".") -> np.ndarray:
    """The values of ``read_csv_series`` (without time stamps)."""
    return read_csv_series(files, column=column, fill=fill, delimiter=delimiter,
                           non_negative=non_negative, decimal=decimal).values


def check_parts(n_values: int, train_ratio: float, *, window: int, min_train: int) -> None:
    """Fail now, naming the numbers, when a part is too short for training or for one window."""
    n_train = train_size(n_values, train_ratio)
    n_test = n_values - n_train
    min_test = window + 1
    if n_train >= min_train and n_test >= min_test:
        return
    span = ratio_range(n_values, min_train, min_test)
    if span is None:
        raise DataError(f"{n_values} values are too few: training needs at least {min_train} "
                        f"(window {window}) and the test stream {min_test}; import at least "
                        f"{min_train + min_test} values")
    if n_train < min_train:
        raise DataError(f"the training part would have {n_train} values ({n_values} values x train ratio "
                        f"{train_ratio:g}) but training needs at least {min_train} (window {window}); "
                        f"use --train-ratio {span[0]:g} or more")
    raise DataError(f"the test stream would have {n_test} values ({n_values} values, train ratio "
                    f"{train_ratio:g}) but needs at least {min_test} (window {window} + 1); "
                    f"use --train-ratio {span[1]:g} or less")


def store(data_dir: Path, imported: Imported, *, train_ratio: float, window: int,
          min_train: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Split the import into the workspace's training and test files (with time stamps if any).

    ``min_train`` is what training needs (``training.min_series_length``); None skips that
    check, leaving it to ``train``.
    """
    if not 0.0 < train_ratio < 1.0:
        raise DataError(f"train ratio {train_ratio} must be between 0 and 1")
    check_parts(len(imported.values), train_ratio, window=window,
                min_train=max(min_train or 0, window + 1))
    train, test = split(imported.values, train_ratio, window=window)
    times = None
    if imported.times is not None:
        times = (imported.times[:len(train)], imported.times[len(train):])
    write_split(data_dir, train, test, times)
    return train, test


# --- classification streams ---------------------------------------------------------------

def _feature(path: Path, line: int, column: str, raw: str, fmt: _Format) -> float:
    """One feature cell as a finite number; text is an error that says every feature must be numeric."""
    value = _parse(path, line, column, raw, fmt, hint=f"every column but the label is a feature and must be "
                                                   f"numeric: remove column {column!r} from the file")
    if math.isnan(value):
        what = "blank value" if not raw.strip() else f"{raw!r} is a missing value"
        raise DataError(f"{path}: line {line}, column {column!r}: {what} (a feature must have a value)")
    return value


def _labelled_header(path: Path, text: str, label: str, delimiter: str) -> tuple[list[str], int]:
    """The header's names and the label's position; unusable headers are errors."""
    names = header(path, text, delimiter)
    index = column_index(path, names, label, delimiter)
    for position, name in enumerate(names):
        if not name:
            raise DataError(f"{path}: column {position + 1} has no name in the header "
                            f"(an index column written by pandas? remove it)")
        if names.count(name) > 1:
            raise DataError(f"{path}: column {name!r} appears twice in the header")
    if len(names) < 2:
        raise DataError(f"{path}: no feature columns besides the label column {label!r}")
    if LABEL_COLUMN in names and label != LABEL_COLUMN:
        raise DataError(f"{path}: a feature column is called {LABEL_COLUMN!r}, the name the stored label "
                        f"column takes; rename it (or import it as the label with --label {LABEL_COLUMN})")
    return names, index


def _fast_labelled(text: str, n_columns: int, index: int, delimiter: str,
                   decimal: str) -> tuple[np.ndarray, list[str]] | None:
    """Features and raw labels of a plain file at C speed; ``None`` sends it down the careful path."""
    if decimal != ".":
        return None
    cells = plain_cells(text, n_columns, delimiter)
    if cells is None:
        return None
    labels = [cell.strip() for cell in cells[index::n_columns]]
    del cells[index::n_columns]
    if not plain_numbers(cells):
        return None
    try:
        X = np.fromiter(map(float, cells), dtype=np.float64, count=len(cells)).reshape(len(labels), n_columns - 1)
    except ValueError:
        return None
    if not bool(np.all(np.abs(X) <= MAX_MAGNITUDE)) or any(cell in _MISSING for cell in labels):
        return None
    return X, labels


def _read_labelled_file(path: Path, label: str, fmt: _Format) -> tuple[list[str], np.ndarray, list[str]]:
    """One file's header names, features (rows x features) and label texts, in file order."""
    text = read_text(path)
    delimiter = fmt.delimiter or detect_delimiter(text, decimal=fmt.decimal)
    names, index = _labelled_header(path, text, label, delimiter)
    fast = _fast_labelled(text, len(names), index, delimiter, fmt.decimal)
    if fast is not None:
        return names, fast[0], fast[1]
    features: list[list[float]] = []
    labels: list[str] = []
    for line, row in rows(path, text, delimiter):
        if len(row) > len(names) and any(cell.strip() for cell in row[len(names):]):
            raise _too_many_fields(path, line, row, len(names), delimiter)
        if len(row) < len(names):
            raise DataError(f"{path}: line {line}: {len(row)} fields but the header has {len(names)}")
        raw = row[index].strip()
        if raw in _MISSING:
            what = "blank label" if not raw else f"{raw!r} is a missing label"
            raise DataError(f"{path}: line {line}, column {label!r}: {what}")
        labels.append(raw)
        features.append([_feature(path, line, name, row[i], fmt) for i, name in enumerate(names) if i != index])
    if not labels:
        raise DataError(f"{path}: no data rows below the header")
    return names, np.asarray(features, dtype=np.float64).reshape(len(labels), len(names) - 1), labels


def _class_indices(texts: list[str], decimal: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class indices in the sorted order of the distinct labels, and each class's original text.

    When every label is a number, the order is numeric (``2`` before ``10``) and labels of
    equal value (``1`` and ``1.0``) are one class, named by the text seen first.
    """
    distinct = list(dict.fromkeys(texts))
    values: dict[str, float] = {}
    for text in distinct:
        try:
            value = parse_float(_number(text, decimal))
        except ValueError:
            break
        if not math.isfinite(value):
            break
        values[text] = value
    if len(values) == len(distinct):
        first_text: dict[float, str] = {}
        for text in distinct:
            first_text.setdefault(values[text], text)
        order = sorted(first_text)
        position = {value: i for i, value in enumerate(order)}
        index = {text: position[values[text]] for text in distinct}
        names = tuple(first_text[value] for value in order)
    else:
        names = tuple(sorted(distinct))
        index = {text: i for i, text in enumerate(names)}
    return np.fromiter((index[text] for text in texts), dtype=np.int64, count=len(texts)), names


def read_labelled_csv(paths: Sequence[Path], *, label: str, delimiter: str | None = None,
                      decimal: str = ".") -> LabelledData:
    """A classification stream from ``paths`` (natural path order): the ``label`` column and numeric features.

    Every other column is a feature and must be numeric in every row; rows stay in file
    order. Labels may be text or numbers: class indices follow their sorted order (numeric
    when all are numbers) and ``class_names`` keep the file's texts. Files read together
    must have the same header. docs/data.md lists the rules and errors.
    """
    _check_options(None, delimiter, decimal)
    files = _ordered(paths)
    fmt = _Format(None, None, delimiter, decimal, False, False)
    first: tuple[Path, list[str]] | None = None
    parts: list[np.ndarray] = []
    texts: list[str] = []
    for path in files:
        names, X, labels = _read_labelled_file(path, label, fmt)
        if first is None:
            first = (path, names)
        elif names != first[1]:
            raise DataError(f"{path}: its columns ({', '.join(map(repr, names))}) differ from those of {first[0]} "
                            f"({', '.join(map(repr, first[1]))}); files imported together need the same header")
        parts.append(X)
        texts.extend(labels)
    assert first is not None
    y, class_names = _class_indices(texts, decimal)
    where = ", ".join(str(p) for p in files)
    if len(class_names) < 2:
        raise DataError(f"{where}: column {label!r} has only one class ({class_names[0]!r}) in {len(texts)} "
                        f"row{'s' if len(texts) > 1 else ''}; "
                        f"a classification stream needs at least two")
    if len(class_names) > MAX_CLASSES:
        raise DataError(f"{where}: column {label!r} has {len(class_names)} distinct labels, more than the "
                        f"{MAX_CLASSES} classes a stream may have: is it a numeric target or an identifier?")
    feature_names = tuple(name for name in first[1] if name != label)
    return LabelledData(np.concatenate(parts), y, feature_names, class_names)


__all__ = ["Imported", "MAX_MAGNITUDE", "PEMS_COLUMN", "check_parts", "detect_delimiter", "import_csv",
           "interpolate_gaps", "natural_key", "read_csv_series", "read_labelled_csv", "store"]
