"""The labelled file format: writing, strict reading, splitting and storing a classification stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harmone.data.labelled import (LABEL_COLUMN, MAX_CLASSES, LabelledData, format_labelled, read_labelled,
                                   split_labelled, write_labelled_split)
from harmone.errors import DataError
from harmone.workspace import TEST_FILE, TRAIN_FILE

from conftest import crash_on_replace


def records(n: int, d: int = 3, n_classes: int = 3, seed: int = 0) -> LabelledData:
    rng = np.random.default_rng(seed)
    return LabelledData(rng.normal(size=(n, d)), np.arange(n) % n_classes,
                        tuple(f"x{i}" for i in range(d)), tuple(str(c) for c in range(n_classes)))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- format and round trip ----------------------------------------------------------------

def test_format_has_the_feature_names_then_label_and_integer_labels() -> None:
    data = LabelledData(np.array([[0.1, 1.0], [1 / 3, -2.5e-300]]), np.array([2, 0]), ("a", "b"), ("0", "1", "2"))
    assert format_labelled(data) == f"a,b,{LABEL_COLUMN}\n0.1,1.0,2\n0.3333333333333333,-2.5e-300,0\n"


def test_round_trip_is_exact(tmp_path: Path) -> None:
    data = records(500, d=5, n_classes=4)
    X = data.X.copy()
    X[:3, 0] = [1e15, -1e15, 5e-324]
    data = LabelledData(X, data.y, data.feature_names, data.class_names)
    path = write(tmp_path / "l.csv", format_labelled(data))
    back = read_labelled(path)
    assert back.X.tobytes() == data.X.tobytes()
    assert back.y.tolist() == data.y.tolist() and back.y.dtype == np.int64
    assert back.feature_names == data.feature_names
    assert back.class_names == ("0", "1", "2", "3")


def test_class_names_run_to_the_largest_label_found(tmp_path: Path) -> None:
    back = read_labelled(write(tmp_path / "l.csv", "x,label\n1,0\n2,4\n"))
    assert back.class_names == ("0", "1", "2", "3", "4")
    assert back.n_classes == 5


def test_names_with_commas_are_quoted_and_read_back(tmp_path: Path) -> None:
    data = LabelledData(np.array([[1.0, 2.0]]), np.array([1]), ("width, cm", 'the "h"'), ("0", "1"))
    back = read_labelled(write(tmp_path / "l.csv", format_labelled(data)))
    assert back.feature_names == data.feature_names
    assert back.X.tolist() == [[1.0, 2.0]]


def test_label_column_may_stand_anywhere_and_crlf_bom_are_read(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes("\ufefflabel,a,b\r\n1,0.5,2\r\n0,1.5,3\r\n\r\n".encode())
    back = read_labelled(path)
    assert back.feature_names == ("a", "b")
    assert back.X.tolist() == [[0.5, 2.0], [1.5, 3.0]]
    assert back.y.tolist() == [1, 0]


@pytest.mark.parametrize("name", ["", " x", LABEL_COLUMN])
def test_format_refuses_names_that_would_not_read_back(name: str) -> None:
    data = LabelledData(np.zeros((1, 2)), np.array([0]), ("a", name), ("0",))
    with pytest.raises(DataError, match="feature"):
        format_labelled(data)


def test_format_refuses_duplicate_names() -> None:
    with pytest.raises(DataError, match="'a' appears twice"):
        format_labelled(LabelledData(np.zeros((1, 2)), np.array([0]), ("a", "a"), ("0",)))


@pytest.mark.parametrize("value, why", [(np.nan, "not finite"), (np.inf, "not finite"),
                                        (2e15, "beyond the supported magnitude")])
def test_format_refuses_bad_features_naming_record_and_feature(value: float, why: str) -> None:
    X = np.zeros((3, 2))
    X[2, 1] = value
    with pytest.raises(DataError, match=f"value {value!r} of feature 'x1' at record 2: {why}"):
        format_labelled(LabelledData(X, np.array([0, 1, 0]), ("x0", "x1"), ("0", "1")))


@pytest.mark.parametrize("label", [-1, 2])
def test_format_refuses_labels_outside_the_classes(label: int) -> None:
    data = LabelledData(np.zeros((2, 1)), np.array([0, label]), ("x",), ("0", "1"))
    with pytest.raises(DataError, match=f"label {label} at record 1: class indices run from 0 to 1"):
        format_labelled(data)


# --- strict reading -----------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("a,b\n1,2\n", r"no column 'label' \(found: 'a', 'b'\)"),
    ("a,Label\n1,2\n", r"did you mean 'Label'\?"),
    ("label\n1\n", "no feature columns besides 'label'"),
    ("a,a,label\n1,2,0\n", "column 'a' appears twice"),
    ("a,label\n", "no data rows below the header"),
    ("a,label\n1,0\n2,1.0\n", r"line 3, column 'label': '1.0' is not a class index"),
    ("a,label\n1,0\n2,-1\n", r"line 3, column 'label': '-1' is not a class index"),
    ("a,label\n1,cat\n", r"line 2, column 'label': 'cat' is not a class index"),
    (f"a,label\n1,{MAX_CLASSES}\n", f"'{MAX_CLASSES}' is not a class index"),
    ("a,label\n1,0\n2,\n", "line 3, column 'label': blank label"),
    ("a,label\n1,0\nx,1\n", r"line 3, column 'a': 'x' is not a number"),
    ("a,label\n1,0\n,1\n", "line 3, column 'a': blank value"),
    ("a,label\nnan,0\n", r"line 2, column 'a': 'nan' is not a finite number"),
    ("a,label\n1,0\n-inf,1\n", r"line 3, column 'a': '-inf' is not a finite number"),
    ("a,label\n1e16,0\n", "beyond the supported magnitude"),
    ("a,label\n1_0,0\n", r"'1_0' is not a number"),
    ("a,b,label\n1,2,0\n1,0\n", "line 3: 2 fields but the header has 3"),
    ("a,b,label\n1,2,0\n1,2,3,0\n", "line 3: 4 fields but the header has 3"),
    ("a,label\n1,0\n\n2,1\n", r"line 3: 0 fields but the header has 2 \(a blank line\?\)"),
    ('"a",label\n1,0\n"2\n",1\n3,x\n', r"line 5, column 'label': 'x' is not a class index"),
])
def test_bad_files_name_file_line_column_and_value(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(DataError, match=message) as info:
        read_labelled(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_labelled(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="file is empty"):
        read_labelled(write(tmp_path / "e.csv", "\n"))


def test_a_clean_file_reads_on_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harmone.data import labelled

    data = records(2000, d=64, n_classes=10)
    # Names with underscores or other scripts do not matter: only the cells are numbers.
    data = LabelledData(data.X, data.y, ("petal_length", "température", *data.feature_names[2:]), data.class_names)
    path = write(tmp_path / "big.csv", format_labelled(data))

    def careful(*args: object) -> None:
        raise AssertionError("the careful path ran on a clean file")

    monkeypatch.setattr(labelled, "_careful_parse", careful)
    back = read_labelled(path)
    assert back.X.shape == (2000, 64)
    assert back.X.tobytes() == data.X.tobytes()
    assert back.feature_names[:2] == ("petal_length", "température")


# --- splitting ----------------------------------------------------------------------------

def test_split_keeps_the_order_leading_share_trains() -> None:
    data = records(10)
    train, test = split_labelled(data, 0.3, min_train=2, min_test=2)
    assert train.X.tolist() == data.X[:3].tolist() and train.y.tolist() == [0, 1, 2]
    assert test.X.tolist() == data.X[3:].tolist() and test.y.tolist() == data.y[3:].tolist()
    assert train.class_names == test.class_names == data.class_names


def test_split_too_small_training_part_names_the_ratio_that_works() -> None:
    with pytest.raises(DataError, match=r"training part would have 5 records \(100 records x train ratio 0.05\) "
                                        r"but needs at least 20; use --train-ratio 0.2 or more"):
        split_labelled(records(100), 0.05, min_train=20, min_test=10)


def test_split_too_small_test_part_names_the_ratio_that_works() -> None:
    with pytest.raises(DataError, match=r"test stream would have 5 records .* needs at least 10; "
                                        r"use --train-ratio 0.9 or less"):
        split_labelled(records(100), 0.95, min_train=20, min_test=10)


def test_split_with_too_few_records_for_any_ratio() -> None:
    with pytest.raises(DataError, match="25 records are too few: training needs at least 20 and the test stream 10"):
        split_labelled(records(25), 0.5, min_train=20, min_test=10)


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1])
def test_split_rejects_ratios_outside_the_open_interval(ratio: float) -> None:
    with pytest.raises(DataError, match="between 0 and 1"):
        split_labelled(records(10), ratio, min_train=1, min_test=1)


def test_split_refuses_a_training_part_of_one_class() -> None:
    data = LabelledData(np.zeros((10, 1)), np.array([0] * 5 + [1] * 5), ("x",), ("setosa", "virginica"))
    with pytest.raises(DataError, match="the first 3 of 10 records\\) holds only class 'setosa'.*sorted by label"):
        split_labelled(data, 0.3, min_train=2, min_test=2)


# --- storing ------------------------------------------------------------------------------

def test_write_split_writes_both_files(tmp_path: Path) -> None:
    train, test = split_labelled(records(20), 0.5, min_train=1, min_test=1)
    train_path, test_path = write_labelled_split(tmp_path / "data", train, test)
    assert (train_path, test_path) == (tmp_path / "data" / TRAIN_FILE, tmp_path / "data" / TEST_FILE)
    assert read_labelled(train_path).X.tobytes() == train.X.tobytes()
    assert read_labelled(test_path).y.tolist() == test.y.tolist()
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [TEST_FILE, TRAIN_FILE]


def _old_pair(data_dir: Path) -> None:
    write_labelled_split(data_dir, records(2, seed=1), records(2, seed=2))


@pytest.mark.parametrize("fail_at", [1, 2])
def test_write_split_never_leaves_a_new_training_file_beside_an_old_test_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int) -> None:
    _old_pair(tmp_path)
    old_train, old_test = (read_labelled(tmp_path / name).X.tolist() for name in (TRAIN_FILE, TEST_FILE))
    crash_on_replace(monkeypatch, fail_at)
    new_train, new_test = records(3, seed=3), records(3, seed=4)
    with pytest.raises(OSError, match="disk gone"):
        write_labelled_split(tmp_path, new_train, new_test)
    assert read_labelled(tmp_path / TRAIN_FILE).X.tolist() == old_train
    test_now = read_labelled(tmp_path / TEST_FILE).X.tolist()
    assert test_now == (old_test if fail_at == 1 else new_test.X.tolist())
    assert sorted(p.name for p in tmp_path.iterdir()) == [TEST_FILE, TRAIN_FILE]


def test_write_split_checks_both_parts_before_writing(tmp_path: Path) -> None:
    _old_pair(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in (TRAIN_FILE, TEST_FILE)}
    bad = LabelledData(np.array([[np.nan, 0.0, 0.0]]), np.array([0]), ("x0", "x1", "x2"), ("0",))
    with pytest.raises(DataError, match=f"{TEST_FILE}: refusing to write value nan of feature 'x0' at record 0"):
        write_labelled_split(tmp_path, records(3), bad)
    other = LabelledData(np.zeros((1, 1)), np.array([0]), ("y",), ("0",))
    with pytest.raises(DataError, match="different feature columns"):
        write_labelled_split(tmp_path, records(3), other)
    assert {name: (tmp_path / name).read_bytes() for name in (TRAIN_FILE, TEST_FILE)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [TEST_FILE, TRAIN_FILE]
