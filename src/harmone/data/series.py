"""The stream on disk: one numeric column in a CSV file with a header row.

A workspace holds the series as two files, the training split and the test stream that
inference replays. Reading is strict: a value that is blank, not a number, not finite or
beyond ``MAX_MAGNITUDE`` is an error naming the file, the line (the header is line 1), the
column and the value, since a silently skipped row would shift every later prediction.
An imported series may keep its time stamps in a ``time`` column beside the values, for
plots and reports; readers of the values ignore it.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harmone.atomic import check_replaceable, fsync_dir, new_temporary, write_text
from harmone.errors import DataError
from harmone.numerals import parse_float
from harmone.workspace import TEST_FILE, TRAIN_FILE

COLUMN = "flow"
#: Optional column of time stamps (text, as imported) stored beside the values.
TIME_COLUMN = "time"
#: Largest accepted magnitude: beyond it squared errors overflow float64 and R² turns nan.
MAX_MAGNITUDE = 1e15
#: Delimiters that a header line may reveal (see ``delimiter_hint``).
DELIMITERS = (",", ";", "\t", "|")


def train_size(n_values: int, train_ratio: float) -> int:
    """Rows of the leading training share; one rule for the generator and ``split``."""
    return int(round(n_values * train_ratio))


def ratio_range(n_values: int, min_train: int, min_test: int) -> tuple[float, float] | None:
    """The smallest and largest two- or three-decimal train ratios that leave both parts long enough."""
    for scale in (100, 1000):
        ok = [k / scale for k in range(1, scale)
              if train_size(n_values, k / scale) >= min_train
              and n_values - train_size(n_values, k / scale) >= min_test]
        if ok:
            return ok[0], ok[-1]
    return None


def read_text(path: Path) -> str:
    """A CSV file's text, with file-level problems turned into one-line errors."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise DataError(f"{path}: file is empty (expected a header row and values)")
    return text


def _reader(text: str, delimiter: str) -> Any:
    # skipinitialspace: `"day", "DPB"` is two quoted names, not `' "DPB"'`.
    return csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)


def clean_name(name: str) -> str:
    """A header name without surrounding spaces or stray quotes."""
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1].strip()
    return name


def header(path: Path, text: str, delimiter: str = ",") -> list[str]:
    """The column names of the first row, stripped of surrounding spaces and quotes."""
    try:
        names = next(_reader(text, delimiter))
    except csv.Error as exc:
        raise DataError(f"{path}: line 1: not valid CSV ({exc})") from None
    return [clean_name(name) for name in names]


def delimiter_hint(names: list[str], delimiter: str) -> str:
    """`` (the header looks ';'-separated: try --delimiter ';')`` when a name holds another delimiter."""
    for other in DELIMITERS:
        if other != delimiter and any(other in name for name in names):
            shown = "'\\t'" if other == "\t" else repr(other)
            return f"; the header looks {shown}-separated: try --delimiter {shown}"
    return ""


def column_index(path: Path, names: list[str], column: str, delimiter: str = ",") -> int:
    """Position of ``column`` in a header, or an error listing the columns found."""
    try:
        return names.index(column)
    except ValueError:
        found = ", ".join(repr(n) for n in names)
        close = [n for n in names if n.strip().lower() == column.strip().lower()]
        hint = f"; did you mean {close[0]!r}?" if close else delimiter_hint(names, delimiter)
        raise DataError(f"{path}: no column {column!r} (found: {found}){hint}") from None


def rows(path: Path, text: str, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """Data rows with the file line each ends on (header = line 1); trailing blank lines dropped."""
    reader = _reader(text, delimiter)
    try:
        next(reader)
        blank: list[int] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                blank.append(reader.line_num)
                continue
            for line in blank:
                yield line, []
            blank.clear()
            yield reader.line_num, row
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None


def plain_cells(text: str, n_columns: int, delimiter: str = ",") -> list[str] | None:
    """The data cells, row after row, of a file that needs no CSV parsing; ``None`` otherwise.

    Plain: no quote below the header line, no blank line between rows, and every row with
    the header's ``n_columns`` fields. Callers convert the cells at C speed and, on None or
    any unusual cell, take the careful path (``rows``) that names the first bad one. The
    cells are not checked: ``float`` and ``int`` read ``1_234`` and other scripts' digits,
    which ``harmone.numerals`` refuses, so callers keep such cells off the fast path.
    """
    head, _, body = text.partition("\n")
    if head.count('"') % 2 or '"' in body:
        return None
    lines = body.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or any(line.count(delimiter) != n_columns - 1 for line in lines):
        return None
    return delimiter.join(lines).split(delimiter)


def plain_numbers(cells: list[str]) -> bool:
    """Whether ``float`` / ``int`` read these cells as ``harmone.numerals`` would (ASCII, no ``_``)."""
    joined = "".join(cells)
    return joined.isascii() and "_" not in joined


def check_value(path: Path, line: int, column: str, raw: str) -> float:
    """One cell as a finite float, or an error that points at it."""
    where = f"{path}: line {line}, column {column!r}"
    text = raw.strip()
    if not text:
        raise DataError(f"{where}: blank value")
    try:
        value = parse_float(text)
    except ValueError:
        raise DataError(f"{where}: {raw!r} is not a number") from None
    return check_magnitude(where, raw, value)


def check_magnitude(where: str, raw: str, value: float) -> float:
    """``value`` if finite and within ``MAX_MAGNITUDE``; otherwise an error quoting ``raw``."""
    if not math.isfinite(value):
        raise DataError(f"{where}: {raw!r} is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise DataError(f"{where}: {raw!r} is beyond the supported magnitude {MAX_MAGNITUDE:g}")
    return value


def _fast_parse(text: str, index: int, n_columns: int) -> np.ndarray | None:
    """Every cell of the column at C speed; ``None`` when anything looks unusual."""
    cells: list[str] = []
    if "_" in text or not text.isascii():
        return None  # float() would read `1_234` or other scripts' digits: the careful path refuses them
    if n_columns == 1:
        # Our own format needs no quoting, so lines are rows (float() ignores a trailing \r).
        cells = text.split("\n")[1:]
        while cells and not cells[-1].strip():
            cells.pop()
    else:
        reader = csv.reader(io.StringIO(text))
        try:
            next(reader)
            for row in reader:
                if len(row) != n_columns:
                    return None
                cells.append(row[index])
        except csv.Error:
            return None
    try:
        values = np.fromiter(map(float, cells), dtype=np.float64, count=len(cells))
    except ValueError:
        return None
    if not values.size or not bool(np.all(np.abs(values) <= MAX_MAGNITUDE)):  # also false for nan
        return None
    return values


def read_series(path: Path, column: str = COLUMN) -> np.ndarray:
    """The column as float64; any unusable cell is an error naming its line and value."""
    path = Path(path)
    text = read_text(path)
    names = header(path, text)
    index = column_index(path, names, column)
    values = _fast_parse(text, index, len(names))
    if values is not None:
        return values
    # The careful path: CSV parsing with line numbers; the first bad cell is reported.
    out: list[float] = []
    for line, row in rows(path, text):
        if not row:
            row = [""] * len(names)
        if len(row) != len(names):
            raise DataError(f"{path}: line {line}: {len(row)} fields but the header has "
                            f"{len(names)} (a decimal comma or a missing value?)")
        out.append(check_value(path, line, column, row[index]))
    if not out:
        raise DataError(f"{path}: no data rows below the header")
    return np.asarray(out, dtype=np.float64)


def read_times(path: Path) -> list[str] | None:
    """The stored time stamps of a data file, or None when it has no ``time`` column."""
    path = Path(path)
    text = read_text(path)
    names = header(path, text)
    if TIME_COLUMN not in names:
        return None
    index = names.index(TIME_COLUMN)
    return [row[index] if len(row) > index else "" for _, row in rows(path, text)]


def _time_cell(stamp: str) -> str:
    """A time stamp as one CSV field: quoted when it holds a comma or a quote."""
    stamp = " ".join(str(stamp).split())  # no line breaks inside a stored field
    if any(char in stamp for char in ',"'):
        return '"' + stamp.replace('"', '""') + '"'
    return stamp


def format_values(values: np.ndarray, column: str, what: str = "values",
                  times: Sequence[str] | None = None) -> str:
    """CSV text whose numbers read back bit for bit (shortest round-trip repr).

    With ``times`` (one per value) the file gets a leading ``time`` column.
    """
    values = _as_finite_1d(values, what)
    if times is None:
        return column + "\n" + "".join(f"{v!r}\n" for v in values.tolist())
    if len(times) != len(values):
        raise DataError(f"{what}: {len(times)} time stamps for {len(values)} values")
    body = "".join(f"{_time_cell(t)},{v!r}\n" for t, v in zip(times, values.tolist()))
    return f"{TIME_COLUMN},{column}\n{body}"


def _as_finite_1d(values: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise DataError(f"{what}: expected a 1-D series, got shape {array.shape}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        first = int(bad[0])
        raise DataError(f"{what}: refusing to write value {float(array[first])!r} at index {first}: not finite")
    big = np.flatnonzero(np.abs(array) > MAX_MAGNITUDE)
    if big.size:
        first = int(big[0])
        raise DataError(f"{what}: refusing to write value {float(array[first])!r} at index {first}: "
                        f"beyond the supported magnitude {MAX_MAGNITUDE:g}")
    return array


def write_series(path: Path, values: np.ndarray, column: str = COLUMN) -> None:
    """Replace ``path`` atomically: readers see the old series or the new one."""
    write_text(Path(path), format_values(values, column, str(path)))


def split(values: np.ndarray, train_ratio: float, *, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The leading ``train_ratio`` share for training, the rest as the test stream."""
    values = np.asarray(values, dtype=np.float64)
    if not 0.0 < train_ratio < 1.0:
        raise DataError(f"train_ratio must be between 0 and 1 (exclusive), got {train_ratio}")
    n_train = train_size(len(values), train_ratio)
    need = window + 1
    for name, size in (("training part", n_train), ("test part", len(values) - n_train)):
        if size < need:
            raise DataError(
                f"the {name} has {size} rows but needs at least {need} (window {window} + 1) "
                f"to form one window; {len(values)} rows with train_ratio {train_ratio}")
    return values[:n_train].copy(), values[n_train:].copy()


def write_split(data_dir: Path, train: np.ndarray, test: np.ndarray,
                times: tuple[Sequence[str], Sequence[str]] | None = None) -> tuple[Path, Path]:
    """Both files of a series split (see ``write_split_texts``); every value checked before writing.

    ``times`` (training stamps, test stamps) adds a ``time`` column to both files.
    """
    data_dir = Path(data_dir)
    train_times, test_times = times if times is not None else (None, None)
    test_text = format_values(test, COLUMN, str(data_dir / TEST_FILE), test_times)
    train_text = format_values(train, COLUMN, str(data_dir / TRAIN_FILE), train_times)
    return write_split_texts(data_dir, train_text, test_text)


def write_split_texts(data_dir: Path, train_text: str, test_text: str) -> tuple[Path, Path]:
    """Write both files so that a new training file never sits beside an old test file.

    Both are written in full to temporary names and fsynced first; only then are they
    renamed into place, test file first, then the training file. A crash before the
    renames leaves the old pair; the only remaining window is between the two renames
    (microseconds), where the new test file sits beside the old training file. Renaming
    the test file first means the model's training data is never newer than the stream.
    Every stream kind (series, labelled records) stores its split through this one writer.
    """
    data_dir = Path(data_dir)
    texts = {TEST_FILE: test_text, TRAIN_FILE: train_text}
    data_dir.mkdir(parents=True, exist_ok=True)
    temps: dict[str, Path] = {}
    try:
        for name, text in texts.items():
            check_replaceable(data_dir / name)
            fd, tmp = new_temporary(data_dir / name)
            temps[name] = tmp
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
        for name, tmp in temps.items():
            os.replace(tmp, data_dir / name)
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    fsync_dir(data_dir)
    return data_dir / TRAIN_FILE, data_dir / TEST_FILE
