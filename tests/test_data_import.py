"""Importing PeMS-style CSV exports into one series."""

from __future__ import annotations

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
