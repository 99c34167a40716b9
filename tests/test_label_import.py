"""Importing any tabular CSV as a classification stream: `read_labelled_csv`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harmone.data.importer import read_labelled_csv
from harmone.data.labelled import MAX_CLASSES, read_labelled, split_labelled, write_labelled_split
from harmone.errors import DataError
from harmone.workspace import TEST_FILE, TRAIN_FILE

FIXTURE = """sepal length,sepal width,species
5.1,3.5,setosa
7.0,3.2,versicolor
6.3,3.3,virginica
4.9,3.0,setosa
6.4,3.2,versicolor
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_text_labels_become_sorted_class_indices_and_rows_keep_file_order(tmp_path: Path) -> None:
    data = read_labelled_csv([write(tmp_path / "iris.csv", FIXTURE)], label="species")
    assert data.feature_names == ("sepal length", "sepal width")
    assert data.X.tolist() == [[5.1, 3.5], [7.0, 3.2], [6.3, 3.3], [4.9, 3.0], [6.4, 3.2]]
    assert data.class_names == ("setosa", "versicolor", "virginica")
    assert data.y.tolist() == [0, 1, 2, 0, 1]


def test_numeric_labels_sort_as_numbers_and_equal_values_are_one_class(tmp_path: Path) -> None:
    path = write(tmp_path / "n.csv", "grade,x\n10,1\n2,2\n1,3\n1.0,4\n-3,5\n")
    data = read_labelled_csv([path], label="grade")
    assert data.class_names == ("-3", "1", "2", "10")
    assert data.y.tolist() == [3, 2, 1, 1, 0]
    assert data.feature_names == ("x",)


def test_quoted_padded_and_semicolon_files_with_decimal_commas(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", '"a"; "b"; "kind"\n"1,5"; 2; "cat"\n3; 4,25; dog\n')
    data = read_labelled_csv([path], label="kind", decimal=",")
    assert data.X.tolist() == [[1.5, 2.0], [3.0, 4.25]]
    assert data.class_names == ("cat", "dog")


def test_quoted_and_plain_files_read_alike(tmp_path: Path) -> None:
    plain = read_labelled_csv([write(tmp_path / "p.csv", FIXTURE)], label="species")
    quoted_text = "\n".join(",".join(f'"{cell}"' for cell in line.split(",")) for line in FIXTURE.splitlines())
    quoted = read_labelled_csv([write(tmp_path / "q.csv", quoted_text + "\n")], label="species")
    assert quoted.X.tobytes() == plain.X.tobytes()
    assert quoted.y.tolist() == plain.y.tolist() and quoted.class_names == plain.class_names


def test_a_plain_file_reads_on_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harmone.data import importer

    def careful(*args: object) -> None:
        raise AssertionError("the careful path ran on a plain file")

    monkeypatch.setattr(importer, "rows", careful)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    body = "".join(",".join(map(repr, row)) + f",class_{i % 3}\n" for i, row in enumerate(X.tolist()))
    data = read_labelled_csv([write(tmp_path / "p.csv", "w_1,w_2,w_3,w_4,kind\n" + body)], label="kind")
    assert data.X.tobytes() == X.tobytes()
    assert data.class_names == ("class_0", "class_1", "class_2")


def test_files_concatenate_in_natural_order_with_one_class_mapping(tmp_path: Path) -> None:
    write(tmp_path / "10.csv", "x,label\n3,b\n")
    write(tmp_path / "2.csv", "x,label\n1,c\n2,a\n")
    data = read_labelled_csv([tmp_path / "10.csv", tmp_path / "2.csv"], label="label")
    assert data.X[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert data.class_names == ("a", "b", "c")
    assert data.y.tolist() == [2, 0, 1]


def test_files_with_different_headers_name_both(tmp_path: Path) -> None:
    first = write(tmp_path / "1.csv", "x,y,label\n1,2,a\n")
    second = write(tmp_path / "2.csv", "x,z,label\n1,2,b\n")
    with pytest.raises(DataError, match=rf"{second}: its columns \('x', 'z', 'label'\) differ from those of "
                                        rf"{first} \('x', 'y', 'label'\)"):
        read_labelled_csv([first, second], label="label")


def test_same_file_twice_and_no_files(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", FIXTURE)
    with pytest.raises(DataError, match="given more than once"):
        read_labelled_csv([path, path], label="species")
    with pytest.raises(DataError, match="no input files given"):
        read_labelled_csv([], label="species")


@pytest.mark.parametrize("text, message", [
    ("a,b\n1,2\n", r"no column 'species' \(found: 'a', 'b'\)"),
    ("a,Species\n1,x\n", r"did you mean 'Species'\?"),
    ("a;b;species\n1;2;x\n", r"column 'species' has only one class \('x'\) in 1 row;"),
    ("species\nx\ny\n", "no feature columns besides the label column 'species'"),
    ("a,species\n1,x\n2,\n", "line 3, column 'species': blank label"),
    ("a,species\n1,x\n2,NA\n", "line 3, column 'species': 'NA' is a missing label"),
    ("a,species\n1,x\n2,x\n", r"column 'species' has only one class \('x'\) in 2 rows"),
    ("a,species\n1,x\ntwo,y\n", r"line 3, column 'a': 'two' is not a number; every column but the label is a "
                                r"feature and must be numeric: remove column 'a'"),
    ("time,a,species\n2024-01-01 00:00,1,x\n", r"line 2, column 'time': '2024-01-01 00:00' is not a number; .*"
                                               r"remove column 'time' from the file \(time stamps are not features\)"),
    ("a,species\n1,x\ninf,y\n", r"line 3, column 'a': 'inf' is not a finite number"),
    ("a,species\n1,x\n1e16,y\n", "beyond the supported magnitude"),
    ("a,species\n1,x\n,y\n", r"line 3, column 'a': blank value \(a feature must have a value\)"),
    ("a,species\n1,x\nnan,y\n", r"line 3, column 'a': 'nan' is a missing value"),
    ("a,species\n1_000,x\n2,y\n", r"line 2, column 'a': '1_000' is not a number"),
    (",a,species\n0,1,x\n1,2,y\n", "column 1 has no name in the header .*pandas"),
    ("a,a,species\n1,2,x\n", "column 'a' appears twice"),
    ("label,species\n1,x\n2,y\n", "a feature column is called 'label'"),
    ("a,b,species\n1,2,x\n1,2,3,y\n", "line 3: 4 fields .* but the header has 3; a decimal comma"),
    ("a,b,species\n1,2,x\n1,y\n", "line 3: 2 fields but the header has 3"),
    ("a,species\n", "no data rows below the header"),
    ("\n", "file is empty"),
])
def test_bad_input_names_file_line_column_and_value(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(DataError, match=message) as info:
        read_labelled_csv([path], label="species")
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_a_wrong_delimiter_is_hinted(tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "a;b;species\n1;2;x\n3;4;y\n")
    with pytest.raises(DataError, match=r"no column 'species' \(found: 'a;b;species'\).*--delimiter ';'"):
        read_labelled_csv([path], label="species", delimiter=",")
    assert read_labelled_csv([path], label="species").X.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_too_many_distinct_labels_is_refused(tmp_path: Path) -> None:
    body = "".join(f"{i},{i * 0.5}\n" for i in range(MAX_CLASSES + 1))
    with pytest.raises(DataError, match=f"{MAX_CLASSES + 1} distinct labels.*numeric target or an identifier"):
        read_labelled_csv([write(tmp_path / "t.csv", "price,x\n" + body)], label="price")


def test_bad_options(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", FIXTURE)
    with pytest.raises(DataError, match="unknown delimiter"):
        read_labelled_csv([path], label="species", delimiter=":")
    with pytest.raises(DataError, match="unknown decimal mark"):
        read_labelled_csv([path], label="species", decimal="'")


# --- public data sets shipped with scikit-learn -------------------------------------------

def _write_dataset(path: Path, X: np.ndarray, target: np.ndarray, feature_names: list[str],
                   target_names: list[str]) -> None:
    header = ",".join(f'"{name}"' for name in feature_names) + ",target\n"
    body = "".join(",".join(map(repr, row)) + f",{target_names[t]}\n" for row, t in zip(X.tolist(), target))
    path.write_text(header + body, encoding="utf-8")


@pytest.mark.parametrize("loader", ["load_iris", "load_wine", "load_breast_cancer"])
def test_public_data_sets_import_exactly(tmp_path: Path, loader: str) -> None:
    from sklearn import datasets

    bunch = getattr(datasets, loader)()
    path = tmp_path / f"{loader}.csv"
    _write_dataset(path, bunch.data, bunch.target, list(bunch.feature_names), list(bunch.target_names))
    data = read_labelled_csv([path], label="target")
    assert data.X.tobytes() == np.ascontiguousarray(bunch.data, dtype=np.float64).tobytes()
    assert data.feature_names == tuple(bunch.feature_names)
    assert data.class_names == tuple(sorted(bunch.target_names))
    names = np.array(data.class_names)[data.y]
    assert names.tolist() == [str(bunch.target_names[t]) for t in bunch.target]


def test_iris_in_class_order_is_refused_for_training_and_stores_once_shuffled(tmp_path: Path) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris()
    names = list(iris.target_names)
    sorted_csv = tmp_path / "iris.csv"
    _write_dataset(sorted_csv, iris.data, iris.target, list(iris.feature_names), names)
    data = read_labelled_csv([sorted_csv], label="target")
    with pytest.raises(DataError, match="holds only class 'setosa'"):
        split_labelled(data, 0.1, min_train=10, min_test=10)

    order = np.random.default_rng(0).permutation(len(iris.target))
    shuffled_csv = tmp_path / "shuffled.csv"
    _write_dataset(shuffled_csv, iris.data[order], iris.target[order], list(iris.feature_names), names)
    data = read_labelled_csv([shuffled_csv], label="target")
    train, test = split_labelled(data, 0.2, min_train=10, min_test=10)
    write_labelled_split(tmp_path / "data", train, test)
    stored = read_labelled(tmp_path / "data" / TEST_FILE)
    assert stored.X.tobytes() == iris.data[order][30:].tobytes()
    assert stored.y.tolist() == iris.target[order][30:].tolist()  # sorted names keep iris's own order
    assert len(read_labelled(tmp_path / "data" / TRAIN_FILE)) == 30
