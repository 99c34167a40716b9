"""Reading, writing and splitting the stream files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from harmone.data import series
from harmone.data.series import COLUMN, TEST_FILE, TRAIN_FILE, read_series, split, write_series, write_split
from harmone.errors import DataError

from conftest import crash_on_replace


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- reading ------------------------------------------------------------------------------

def test_round_trip_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(0, 600, 1000), [0.0, 1e-300, 1e15, -1e15, 123456789012345.6, 0.1, 1 / 3]])
    path = tmp_path / "s.csv"
    write_series(path, values)
    back = read_series(path)
    assert back.dtype == np.float64
    assert back.tobytes() == values.tobytes()
    assert path.read_text().splitlines()[0] == COLUMN


def test_reads_named_column_among_others_with_quotes_spaces_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_bytes('\ufefftime, flow ,note\n1,10.5,"a, b"\n2, 11 ,c\n\n\n'.encode())
    assert read_series(path).tolist() == [10.5, 11.0]


def test_custom_column_name(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    write_series(path, np.array([1.0, 2.0]), column="veh")
    assert read_series(path, "veh").tolist() == [1.0, 2.0]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        read_series(tmp_path / "nope.csv")


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "empty.csv", text)
    with pytest.raises(DataError, match=r"empty\.csv: file is empty"):
        read_series(path)


def test_header_without_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "head.csv", "flow\n")
    with pytest.raises(DataError, match=r"head\.csv: no data rows below the header"):
        read_series(path)


def test_missing_column_lists_the_columns_found(tmp_path: Path) -> None:
    path = write(tmp_path / "cols.csv", "time,speed\n1,2\n")
    with pytest.raises(DataError) as info:
        read_series(path)
    message = str(info.value)
    assert "cols.csv" in message and "'flow'" in message
    assert "found: 'time', 'speed'" in message
    assert "\n" not in message


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("flow\n1\n2\nabc\n4\n", 4, "'abc' is not a number"),
    ("flow\n1\n\n3\n", 3, "blank value"),
    ("flow\n1\n2\n3\nnan\n", 5, "'nan' is not a finite number"),
    ("flow\n1\ninf\n", 3, "'inf' is not a finite number"),
    ("flow\n1\n-Infinity\n", 3, "'-Infinity' is not a finite number"),
    ("a,flow\n1,2\n3,\n", 3, "blank value"),
    ("a,flow\n1,2\n3,x7\n", 3, "'x7' is not a number"),
])
def test_bad_value_names_file_line_column_and_value(
        tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(DataError) as info:
        read_series(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line {line}, column 'flow': ")
    assert fragment in message


def test_line_numbers_count_quoted_multiline_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", 'note,flow\n"two\nlines",1\nok,bad\n')
    with pytest.raises(DataError, match=r"q\.csv: line 4, column 'flow': 'bad' is not a number"):
        read_series(path)


def test_decimal_comma_is_an_error_not_a_silent_truncation(tmp_path: Path) -> None:
    path = write(tmp_path / "eu.csv", "flow\n1\n2,5\n")
    with pytest.raises(DataError, match=r"eu\.csv: line 3: 2 fields but the header has 1"):
        read_series(path)


def test_short_row_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "short.csv", "a,flow\n1,2\n3\n")
    with pytest.raises(DataError, match=r"short\.csv: line 3: 1 fields but the header has 2"):
        read_series(path)


def test_large_file_reads_on_the_fast_path(tmp_path: Path) -> None:
    values = np.random.default_rng(1).uniform(0, 500, 200_000)
    path = tmp_path / "big.csv"
    write_series(path, values)
    assert np.array_equal(read_series(path), values)


# --- writing ------------------------------------------------------------------------------

def test_write_replaces_atomically_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    write_series(path, np.array([1.0, 2.0]))
    write_series(path, np.array([3.0]))
    assert read_series(path).tolist() == [3.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_write_refuses_non_finite_values_and_keeps_the_old_file(tmp_path: Path, bad: float) -> None:
    path = tmp_path / "s.csv"
    write_series(path, np.array([1.0, 2.0]))
    with pytest.raises(DataError, match=r"s\.csv: refusing to write value .* at index 1: not finite"):
        write_series(path, np.array([1.0, bad]))
    assert read_series(path).tolist() == [1.0, 2.0]


def test_write_refuses_2d_arrays(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="expected a 1-D series"):
        write_series(tmp_path / "s.csv", np.ones((2, 2)))


# --- splitting ----------------------------------------------------------------------------

def test_split_takes_the_leading_share_for_training() -> None:
    values = np.arange(100, dtype=float)
    train, test = split(values, 0.1, window=5)
    assert train.tolist() == list(range(10))
    assert test.tolist() == list(range(10, 100))


def test_split_share_is_rounded_not_truncated() -> None:
    train, _ = split(np.arange(100, dtype=float), 0.29, window=5)  # 100 * 0.29 = 28.999...
    assert len(train) == 29


def test_split_too_small_training_part_says_what_is_needed() -> None:
    with pytest.raises(DataError, match=r"training part has 5 rows but needs at least 6 \(window 5 \+ 1\)"):
        split(np.arange(50, dtype=float), 0.1, window=5)


def test_split_too_small_test_part_says_what_is_needed() -> None:
    with pytest.raises(DataError, match=r"test part has 2 rows but needs at least 11 .*20 rows"):
        split(np.arange(20, dtype=float), 0.9, window=10)


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_ratios_outside_the_open_interval(ratio: float) -> None:
    with pytest.raises(DataError, match="train_ratio"):
        split(np.arange(100, dtype=float), ratio, window=5)


def test_write_split_writes_both_files(tmp_path: Path) -> None:
    train_path, test_path = write_split(tmp_path / "data", np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0]))
    assert train_path == tmp_path / "data" / TRAIN_FILE
    assert test_path == tmp_path / "data" / TEST_FILE
    assert read_series(train_path).tolist() == [1.0, 2.0]
    assert read_series(test_path).tolist() == [3.0, 4.0, 5.0]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [TEST_FILE, TRAIN_FILE]


def _old_pair(data_dir: Path) -> None:
    write_split(data_dir, np.array([1.0]), np.array([2.0]))


@pytest.mark.parametrize("fail_at", [1, 2])
def test_write_split_never_leaves_a_new_training_file_beside_an_old_test_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int) -> None:
    _old_pair(tmp_path)
    crash_on_replace(monkeypatch, fail_at)
    with pytest.raises(OSError, match="disk gone"):
        write_split(tmp_path, np.array([10.0]), np.array([20.0]))
    train = read_series(tmp_path / TRAIN_FILE).tolist()
    test = read_series(tmp_path / TEST_FILE).tolist()
    assert train == [1.0]  # the training file is never the newer one of the pair
    assert test == ([2.0] if fail_at == 1 else [20.0])
    assert sorted(p.name for p in tmp_path.iterdir()) == [TEST_FILE, TRAIN_FILE]


def test_write_split_failure_while_writing_leaves_the_old_pair(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _old_pair(tmp_path)
    real_fsync = os.fsync
    calls = []

    def failing_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError("no space left")
        real_fsync(fd)

    monkeypatch.setattr(series.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="no space left"):
        write_split(tmp_path, np.array([10.0]), np.array([20.0]))
    assert read_series(tmp_path / TRAIN_FILE).tolist() == [1.0]
    assert read_series(tmp_path / TEST_FILE).tolist() == [2.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [TEST_FILE, TRAIN_FILE]


def test_write_split_rejects_bad_values_before_writing(tmp_path: Path) -> None:
    _old_pair(tmp_path)
    with pytest.raises(DataError, match=r"flow_data_test\.csv: refusing to write value nan at index 0"):
        write_split(tmp_path, np.array([10.0]), np.array([np.nan]))
    assert read_series(tmp_path / TRAIN_FILE).tolist() == [1.0]
    assert read_series(tmp_path / TEST_FILE).tolist() == [2.0]


# --- time stamps and magnitude ------------------------------------------------------------

def test_time_stamps_are_stored_beside_the_values_and_read_back(tmp_path: Path) -> None:
    train, test = np.array([1.5, -2.0]), np.array([3.0])
    stamps = (["2024-01-01 00:00", 'a "quoted", odd stamp'], ["2024-01-03"])
    write_split(tmp_path, train, test, stamps)
    assert (tmp_path / TRAIN_FILE).read_text().splitlines()[0] == "time,flow"
    assert series.read_times(tmp_path / TRAIN_FILE) == list(stamps[0])
    assert series.read_times(tmp_path / TEST_FILE) == ["2024-01-03"]
    assert read_series(tmp_path / TRAIN_FILE).tolist() == [1.5, -2.0]


def test_files_without_time_stamps_have_none(tmp_path: Path) -> None:
    write_split(tmp_path, np.array([1.0]), np.array([2.0]))
    assert series.read_times(tmp_path / TRAIN_FILE) is None


@pytest.mark.parametrize("raw", ["1e308", "-1.5e15", "1e16"])
def test_absurd_magnitudes_are_refused_on_read_and_write(tmp_path: Path, raw: str) -> None:
    path = write(tmp_path / "big.csv", f"flow\n1\n{raw}\n")
    with pytest.raises(DataError, match=rf"big\.csv: line 3, column 'flow': '{raw}' is beyond the supported magnitude"):
        read_series(path)
    with pytest.raises(DataError, match="beyond the supported magnitude"):
        write_series(tmp_path / "out.csv", np.array([1.0, float(raw)]))
    assert not (tmp_path / "out.csv").exists()
