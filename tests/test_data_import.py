"""Importing PeMS-style CSV exports into one series."""

from __future__ import annotations

import datetime

import re
from pathlib import Path

import numpy as np
import pytest

from harmone.data.importer import PEMS_COLUMN, import_csv, interpolate_gaps
from harmone.errors import DataError

HEADER = f"Timestamp (5-Minute),{PEMS_COLUMN},# Lane Points,% Observed"


def pems(path: Path, flows: list[str]) -> Path:
    """A file shaped like a PeMS station export; flows are written verbatim."""
    rows = [HEADER] + [f"01/01/2024 00:{i % 12 * 5:02d}:00,{f},8,100" for i, f in enumerate(flows)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_files_are_concatenated_in_natural_path_order(tmp_path: Path) -> None:
    files = [pems(tmp_path / f"{n}.csv", [str(n), str(n + 0.5)]) for n in (10, 2, 1)]
    values = import_csv(files)
    assert values.dtype == np.float64
    assert values.tolist() == [1, 1.5, 2, 2.5, 10, 10.5]


def test_other_columns_and_custom_column(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("t,veh,occ\n1,5,0.1\n2,6,0.2\n", encoding="utf-8")
    assert import_csv([path], column="veh").tolist() == [5.0, 6.0]


def test_quoted_thousands_separators_are_numbers(tmp_path: Path) -> None:
    path = pems(tmp_path / "1.csv", ['"1,234"', '"12,345.5"', "999", '"1,000,000"'])
    assert import_csv([path]).tolist() == [1234.0, 12345.5, 999.0, 1_000_000.0]


@pytest.mark.parametrize("raw", ['"1,5"', '"12,34"', '"1,2345"'])
def test_decimal_comma_is_not_a_thousands_separator(tmp_path: Path, raw: str) -> None:
    path = pems(tmp_path / "eu.csv", ["1", raw])
    expected = f"eu.csv: line 3, column '{PEMS_COLUMN}': '{raw.strip(chr(34))}' is not a number"
    with pytest.raises(DataError, match=re.escape(expected)):
        import_csv([path])


def test_missing_file_is_named(tmp_path: Path) -> None:
    ok = pems(tmp_path / "1.csv", ["1"])
    with pytest.raises(DataError, match=r"2\.csv: file not found"):
        import_csv([ok, tmp_path / "2.csv"])


def test_empty_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=r"empty\.csv: file is empty"):
        import_csv([path])


def test_header_only_file_is_named(tmp_path: Path) -> None:
    path = pems(tmp_path / "h.csv", [])
    with pytest.raises(DataError, match=r"h\.csv: no data rows below the header"):
        import_csv([path])


def test_missing_column_lists_the_columns_found(tmp_path: Path) -> None:
    path = tmp_path / "lanes.csv"
    path.write_text("Timestamp,Lane 1 Flow,Lane 2 Flow\n1,2,3\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        import_csv([path])
    message = str(info.value)
    assert "lanes.csv" in message and repr(PEMS_COLUMN) in message
    assert "found: 'Timestamp', 'Lane 1 Flow', 'Lane 2 Flow'" in message


@pytest.mark.parametrize(("raw", "fragment"), [
    ("abc", "'abc' is not a number"),
    ("", "blank value (use --fill interpolate to fill gaps)"),
    ("NaN", "'NaN' is a missing value (use --fill interpolate"),
    ("-3", "'-3' is negative, but the series is declared non-negative (a PeMS flow is a count)"),
    ("1e308", "'1e308' is beyond the supported magnitude 1e+15"),
    ("inf", "'inf' is not a finite number"),
])
def test_bad_values_name_file_line_column_and_value(tmp_path: Path, raw: str, fragment: str) -> None:
    path = pems(tmp_path / "bad.csv", ["1", "2", raw, "4"])
    with pytest.raises(DataError) as info:
        import_csv([path])
    message = str(info.value)
    assert message.startswith(f"{path}: line 4, column '{PEMS_COLUMN}': ")
    assert fragment in message


def test_errors_in_a_later_file_name_that_file(tmp_path: Path) -> None:
    first = pems(tmp_path / "1.csv", ["1", "2"])
    second = pems(tmp_path / "2.csv", ["3", "x"])
    with pytest.raises(DataError, match=r"2\.csv: line 3, .*'x' is not a number"):
        import_csv([second, first])


def test_negative_is_an_error_even_with_fill(tmp_path: Path) -> None:
    path = pems(tmp_path / "neg.csv", ["1", "-1"])
    with pytest.raises(DataError, match="negative"):
        import_csv([path], fill="interpolate")


def test_interpolate_fills_gaps_linearly_and_edges_by_nearest(tmp_path: Path) -> None:
    path = pems(tmp_path / "gaps.csv", ["", "NaN", "10", "", "", "40", "nan", ""])
    assert import_csv([path], fill="interpolate").tolist() == [10, 10, 10, 20, 30, 40, 40, 40]


def test_interpolate_bridges_file_boundaries(tmp_path: Path) -> None:
    first = pems(tmp_path / "1.csv", ["0", ""])
    second = pems(tmp_path / "2.csv", ["", "30"])
    assert import_csv([first, second], fill="interpolate").tolist() == [0, 10, 20, 30]


def test_interpolate_treats_short_rows_as_gaps(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(f"{HEADER}\nt,4,8,100\nt\nt,8,8,100\n", encoding="utf-8")
    assert import_csv([path], fill="interpolate").tolist() == [4, 6, 8]
    with pytest.raises(DataError, match=r"s\.csv: line 3: only 1 fields"):
        import_csv([path])


def test_interpolate_with_nothing_to_interpolate_from(tmp_path: Path) -> None:
    path = pems(tmp_path / "none.csv", ["", "NaN"])
    with pytest.raises(DataError, match=r"none\.csv: column .* has no values at all"):
        import_csv([path], fill="interpolate")


def test_interpolate_gaps_leaves_complete_series_alone() -> None:
    values = np.array([1.0, 2.0, 3.0])
    out = interpolate_gaps(values)
    assert out.tolist() == [1.0, 2.0, 3.0] and out is not values


def test_bad_call_arguments(tmp_path: Path) -> None:
    path = pems(tmp_path / "1.csv", ["1"])
    with pytest.raises(DataError, match="unknown fill 'zero' \\(known: interpolate\\)"):
        import_csv([path], fill="zero")
    with pytest.raises(DataError, match="no input files"):
        import_csv([])
    with pytest.raises(DataError, match=r"1\.csv: given more than once"):
        import_csv([path, path])


# -- any numeric CSV, through the `data import` command -------------------------------------------

def run_import(ws: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from harmone.cli import main

    code = main(["data", "import", "-w", str(ws), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def empty_ws(tmp_path: Path) -> Path:
    from harmone.workspace import Workspace

    Workspace.init(tmp_path / "ws")
    return tmp_path / "ws"


def daily(n: int = 300, sep: str = ";", *, header: str | None = None, negative: bool = True) -> str:
    """A daily-price-like file: a date and a value that may be negative."""
    head = header if header is not None else f"day{sep}DPB"
    start = datetime.date(2024, 1, 1)
    rows = [f"{start + datetime.timedelta(days=i)}{sep}{(i % 13) - (6.25 if negative else 0):g}" for i in range(n)]
    return head + "\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize("sep", [";", "\t", "|", ","])
def test_delimiter_is_detected(empty_ws: Path, tmp_path: Path, sep: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    from harmone.data.series import read_series

    path = tmp_path / "prices.csv"
    path.write_text(daily(sep=sep), encoding="utf-8")
    code, out, err = run_import(empty_ws, str(path), "--column", "DPB", capsys=capsys)
    assert (code, err) == (0, "")
    assert "Imported 300 values of 'DPB'" in out
    train = read_series(empty_ws / "data" / "flow_data_train.csv")
    assert train[:3].tolist() == [-6.25, -5.25, -4.25]


@pytest.mark.parametrize(("given", "sep"), [(";", ";"), ("\\t", "\t"), ("tab", "\t"), ("|", "|")])
def test_delimiter_can_be_given(empty_ws: Path, tmp_path: Path, given: str, sep: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(daily(sep=sep), encoding="utf-8")
    code, _, err = run_import(empty_ws, str(path), "--column", "DPB", "--delimiter", given, capsys=capsys)
    assert (code, err) == (0, "")


def test_quoted_and_spaced_header_names(empty_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "q.csv"
    path.write_text(daily(sep=", ", header='"day", "DPB"'), encoding="utf-8")
    code, out, err = run_import(empty_ws, str(path), "--column", "DPB", capsys=capsys)
    assert (code, err) == (0, "") and "'DPB'" in out


def test_the_only_value_column_needs_no_name(empty_ws: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.csv"
    path.write_text("load\n" + "".join(f"{i % 7}.5\n" for i in range(200)), encoding="utf-8")
    code, out, _ = run_import(empty_ws, str(path), capsys=capsys)
    assert code == 0 and "values of 'load'" in out


def test_negative_values_are_accepted_unless_declared_non_negative(
        empty_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "returns.csv"
    path.write_text(daily(), encoding="utf-8")
    assert run_import(empty_ws, str(path), "--column", "DPB", capsys=capsys)[0] == 0
    before = (empty_ws / "data" / "flow_data_test.csv").read_bytes()
    code, _, err = run_import(empty_ws, str(path), "--column", "DPB", "--non-negative", capsys=capsys)
    assert code == 1
    assert err == (f"harmone: error: {path}: line 2, column 'DPB': '-6.25' is negative, "
                   "but the series is declared non-negative\n")
    assert (empty_ws / "data" / "flow_data_test.csv").read_bytes() == before


def test_pems_flow_keeps_its_non_negative_check(empty_ws: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = pems(tmp_path / "p.csv", [str(i % 9) for i in range(150)] + ["-1"])
    code, _, err = run_import(empty_ws, str(path), capsys=capsys)
    assert code == 1 and "'-1' is negative" in err and "PeMS flow is a count" in err


def test_time_column_is_kept_beside_the_values(empty_ws: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from harmone.data.series import read_series, read_times

    path = tmp_path / "prices.csv"
    path.write_text(daily(), encoding="utf-8")
    code, out, _ = run_import(empty_ws, str(path), "--column", "DPB", "--time-column", "day", capsys=capsys)
    assert code == 0 and "with time stamps" in out
    train_file, test_file = empty_ws / "data" / "flow_data_train.csv", empty_ws / "data" / "flow_data_test.csv"
    assert read_times(train_file)[:2] == ["2024-01-01", "2024-01-02"]
    assert len(read_times(train_file)) + len(read_times(test_file)) == 300
    assert read_times(test_file)[0] == "2024-01-31"
    assert len(read_series(train_file)) == 30 and read_series(test_file)[0] == 30 % 13 - 6.25
    # An import without a time column stores none, and readers say so.
    code, _, _ = run_import(empty_ws, str(path), "--column", "DPB", capsys=capsys)
    assert code == 0 and read_times(train_file) is None


def test_a_too_short_training_part_suggests_train_ratio(empty_ws: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from harmone import lifecycle
    from harmone.workspace import Workspace

    path = tmp_path / "short.csv"
    path.write_text("value\n" + "".join(f"{i % 5}\n" for i in range(100)), encoding="utf-8")
    code, out, err = run_import(empty_ws, str(path), capsys=capsys)
    assert code == 1 and out == ""
    assert err == ("harmone: error: the training part would have 10 values (100 values x train ratio 0.1) "
                   "but training needs at least 11 (window 5); use --train-ratio 0.11 or more\n")
    assert not (empty_ws / "data" / "flow_data_train.csv").exists()
    assert run_import(empty_ws, str(path), "--train-ratio", "0.11", capsys=capsys)[0] == 0
    lifecycle.train_initial(Workspace.open(empty_ws), ["linear"])  # the suggestion is enough to train


def test_too_few_values_for_any_ratio(empty_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("value\n1\n2\n3\n4\n5\n6\n7\n8\n", encoding="utf-8")
    code, _, err = run_import(empty_ws, str(path), capsys=capsys)
    assert code == 1 and "8 values are too few" in err and "import at least 17 values" in err


def test_messages_use_neutral_words(empty_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "temps.csv"
    path.write_text(daily(), encoding="utf-8")
    _, out, _ = run_import(empty_ws, str(path), "--column", "DPB", capsys=capsys)
    _, _, err = run_import(empty_ws, str(path), "--column", "DPB", "--non-negative", capsys=capsys)
    assert "flow" not in (out + err).lower()


@pytest.mark.parametrize(("text", "delimiter", "hint"), [
    ("day;DPB\n1;2\n", ",", "the header looks ';'-separated: try --delimiter ';'"),
    ("day\tDPB\n1\t2\n", ";", "the header looks '\\t'-separated: try --delimiter '\\t'"),
    ("Day,dpb\n1,2\n", ",", "did you mean 'dpb'?"),
])
def test_missing_column_lists_columns_and_hints(empty_ws: Path, tmp_path: Path, text: str, delimiter: str,
                                                hint: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    code, _, err = run_import(empty_ws, str(path), "--column", "DPB", "--delimiter", delimiter, capsys=capsys)
    assert code == 1 and err.count("\n") == 1
    assert f"{path}: no column 'DPB' (found: " in err and hint in err


def test_unquoted_decimal_comma_is_an_error_not_a_truncated_value(
        empty_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harmone.data.series import read_series

    path = tmp_path / "eu.csv"
    path.write_text("value\n" + "".join(f"{i % 9},5\n" for i in range(200)), encoding="utf-8")
    code, _, err = run_import(empty_ws, str(path), capsys=capsys)
    assert code == 1 and not (empty_ws / "data").joinpath("flow_data_test.csv").exists()
    assert err.startswith(f"harmone: error: {path}: line 2: 2 fields ('0,5') but the header has 1; a decimal comma?")
    assert "--delimiter ';'" in err and err.count("\n") == 1
    assert run_import(empty_ws, str(path), "--decimal", ",", capsys=capsys)[0] == 0
    assert read_series(empty_ws / "data" / "flow_data_train.csv")[:2].tolist() == [0.5, 1.5]


def test_semicolon_file_with_decimal_commas(empty_ws: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from harmone.data.series import read_series

    path = tmp_path / "eu.csv"
    path.write_text("Datum;Wert\n" + "".join(f"d{i};{i % 9},25\n" for i in range(200)), encoding="utf-8")
    assert run_import(empty_ws, str(path), "--column", "Wert", "--decimal", ",", capsys=capsys)[0] == 0
    assert read_series(empty_ws / "data" / "flow_data_train.csv")[:2].tolist() == [0.25, 1.25]


@pytest.mark.parametrize(("raw", "fragment"), [
    ("1e308", "'1e308' is beyond the supported magnitude 1e+15"),
    ("-1e16", "'-1e16' is beyond the supported magnitude"),
    ("inf", "'inf' is not a finite number"),
    ("nan", "'nan' is a missing value"),
])
def test_non_finite_or_absurd_values_name_file_line_and_value(
        empty_ws: Path, tmp_path: Path, raw: str, fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v.csv"
    path.write_text("value\n" + "1\n" * 50 + raw + "\n" + "1\n" * 100, encoding="utf-8")
    code, _, err = run_import(empty_ws, str(path), capsys=capsys)
    assert code == 1
    assert err.startswith(f"harmone: error: {path}: line 52, column 'value': {fragment}")
