"""Import a flow series from CSV exports such as PeMS station files.

Rules (docs/data.md repeats them for users):

- Each file is comma-separated with a header row; the named column is read, others ignored.
- Files are concatenated in natural path order: ``2.csv`` before ``10.csv``, because PeMS
  exports are usually numbered by month or week, and plain string order would put ``10``
  before ``2`` and silently scramble the series in time.
- Thousands separators are accepted: ``"1,234"`` (a quoted field, as PeMS writes it) and
  ``1,234.5`` read as numbers. Only the strict pattern counts (groups of exactly three
  digits), so a decimal comma such as ``"1,5"`` is an error, not 15.
- A blank cell or ``NaN`` is an error unless ``fill="interpolate"``: gaps are then filled
  linearly between their neighbours (across file boundaries, since the files form one
  series), and leading or trailing gaps take the nearest value.
- Infinite and negative values are errors: flow is a count of vehicles.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harmone.data.series import column_index, header, read_text, rows
from harmone.errors import DataError

PEMS_COLUMN = "Flow (Veh/5 Minutes)"
FILLS = ("interpolate",)

_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_DIGITS = re.compile(r"(\d+)")
_MISSING = {"", "nan", "NaN", "NAN", "null", "NULL", "NA", "N/A", "n/a"}


def natural_key(path: Path) -> tuple[tuple[int, object], ...]:
    """Sort key that compares digit runs as numbers: ``2.csv`` < ``10.csv``."""
    parts = _DIGITS.split(str(path))
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts)


def _parse(path: Path, line: int, column: str, raw: str) -> float:
    """One cell as a flow; NaN marks a gap the caller may fill."""
    text = raw.strip()
    if text in _MISSING:
        return math.nan
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    where = f"{path}: line {line}, column {column!r}"
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: {raw!r} is not a number") from None
    if math.isinf(value):
        raise DataError(f"{where}: {raw!r} is not a finite number")
    if value < 0:
        raise DataError(f"{where}: {raw!r} is negative; flow cannot be")
    return value


def _read_file(path: Path, column: str, allow_gaps: bool) -> np.ndarray:
    text = read_text(path)
    index = column_index(path, header(path, text), column)
    values: list[float] = []
    for line, row in rows(path, text):
        if len(row) <= index:
            if row and not allow_gaps:
                raise DataError(f"{path}: line {line}: only {len(row)} fields, "
                                f"no value for column {column!r}")
            raw = ""
        else:
            raw = row[index]
        value = _parse(path, line, column, raw)
        if math.isnan(value) and not allow_gaps:
            what = "blank value" if not raw.strip() else f"{raw!r} is a missing value"
            raise DataError(f"{path}: line {line}, column {column!r}: {what} "
                            f"(use --fill interpolate to fill gaps)")
        values.append(value)
    if not values:
        raise DataError(f"{path}: no data rows below the header")
    return np.asarray(values, dtype=np.float64)


def interpolate_gaps(values: np.ndarray) -> np.ndarray:
    """NaNs filled linearly between known neighbours; edges take the nearest known value."""
    values = np.asarray(values, dtype=np.float64)
    known = ~np.isnan(values)
    if known.all():
        return values.copy()
    positions = np.arange(len(values))
    # np.interp holds the end values constant beyond the known range: nearest at edges.
    return np.interp(positions, positions[known], values[known])


def import_csv(files: Sequence[Path], *, column: str = PEMS_COLUMN, fill: str | None = None) -> np.ndarray:
    """One float64 series from ``files`` in natural path order (see the module rules)."""
    if fill is not None and fill not in FILLS:
        raise DataError(f"unknown fill {fill!r} (known: {', '.join(FILLS)})")
    if not files:
        raise DataError("no input files given")
    paths = sorted((Path(f) for f in files), key=natural_key)
    seen: set[Path] = set()
    for path in paths:
        if path in seen:
            raise DataError(f"{path}: given more than once")
        seen.add(path)
    parts = [_read_file(path, column, fill is not None) for path in paths]
    values = np.concatenate(parts)
    if np.isnan(values).all():
        names = ", ".join(str(p) for p in paths)
        raise DataError(f"{names}: column {column!r} has no values at all, nothing to interpolate from")
    return interpolate_gaps(values) if fill == "interpolate" else values
