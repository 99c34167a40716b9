"""Inducing drift in the test stream: parsing, applying, plotting and the backup discipline."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harmone.data import drift
from harmone.data.drift import Region, apply_regions, induce, parse_region, plot_before_after
from harmone.data.series import read_series, write_series
from harmone.errors import DataError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- parsing ------------------------------------------------------------------------------

def test_parse_region() -> None:
    assert parse_region("100:200:1.5:-20") == Region(100, 200, 1.5, -20.0)
    assert parse_region(" 0:1:0:0 ") == Region(0, 1, 0.0, 0.0)
    assert str(Region(100, 200, 1.5, -20.0)) == "100:200:1.5:-20"


@pytest.mark.parametrize(("text", "fragment"), [
    ("100:200:1.5", "expected START:END:SCALE:SHIFT"),
    ("100:200:1.5:0:9", "expected START:END:SCALE:SHIFT"),
    ("a:200:1:0", "START and END must be whole numbers"),
    ("1.5:200:1:0", "START and END must be whole numbers"),
    ("1:200:x:0", "SCALE and SHIFT must be numbers"),
    ("1:200:1:nan", "SCALE and SHIFT must be finite"),
    ("1:200:-1:0", "SCALE must be >= 0"),
    ("-1:200:1:0", "START must be >= 0"),
    ("200:200:1:0", "START must be less than END"),
    ("300:200:1:0", "START must be less than END"),
])
def test_parse_region_errors_quote_the_text(text: str, fragment: str) -> None:
    with pytest.raises(DataError) as info:
        parse_region(text)
    assert str(info.value).startswith(f"region {text!r}: ")
    assert fragment in str(info.value)


# --- applying -----------------------------------------------------------------------------

def test_apply_scales_shifts_and_clips_at_zero_without_touching_the_input() -> None:
    values = np.arange(10, dtype=float) * 10  # 0, 10, ..., 90
    before = values.copy()
    out = apply_regions(values, [Region(6, 9, 1.0, -75.0), Region(1, 3, 2.0, 5.0)])
    assert out.tolist() == [0, 25, 45, 30, 40, 50, 0, 0, 5, 90]
    assert np.array_equal(values, before)


def test_adjacent_regions_are_fine() -> None:
    out = apply_regions(np.ones(4), [Region(0, 2, 2.0, 0.0), Region(2, 4, 3.0, 0.0)])
    assert out.tolist() == [2, 2, 3, 3]


def test_region_beyond_the_stream_is_named() -> None:
    with pytest.raises(DataError, match=r"region 5:11:1:0: END 11 is beyond the test stream \(10 values"):
        apply_regions(np.ones(10), [Region(0, 2, 1.0, 0.0), Region(5, 11, 1.0, 0.0)])


def test_overlapping_regions_name_both() -> None:
    with pytest.raises(DataError, match=r"regions 2:6:1:0 and 5:8:2:0 overlap"):
        apply_regions(np.ones(10), [Region(5, 8, 2.0, 0.0), Region(2, 6, 1.0, 0.0)])


def test_unparsed_bad_regions_are_still_caught() -> None:
    with pytest.raises(DataError, match="region 4:4:1:0: START must be >= 0 and less than END"):
        apply_regions(np.ones(10), [Region(4, 4, 1.0, 0.0)])
    with pytest.raises(DataError, match="no drift regions"):
        apply_regions(np.ones(10), [])


# --- plotting -----------------------------------------------------------------------------

def test_plot_writes_a_png(tmp_path: Path) -> None:
    before = np.abs(np.sin(np.arange(500) / 20)) * 100
    after = apply_regions(before, [Region(100, 200, 1.5, 0.0)])
    path = tmp_path / "plots" / "drift.png"
    plot_before_after(before, after, [Region(100, 200, 1.5, 0.0)], path)
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert path.stat().st_size > 5_000


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = "import sys, harmone.data.drift; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- inducing -----------------------------------------------------------------------------

@pytest.fixture
def test_file(tmp_path: Path) -> Path:
    path = tmp_path / "flow_data_test.csv"
    write_series(path, np.linspace(10, 100, 50))
    return path


def test_induce_rewrites_the_file_and_keeps_a_backup(test_file: Path) -> None:
    original = test_file.read_bytes()
    backup = induce(test_file, [Region(10, 20, 2.0, 1.0)])
    assert backup == test_file.with_name("flow_data_test.bak-1.csv")
    assert backup.read_bytes() == original
    expected = np.linspace(10, 100, 50)
    expected[10:20] = expected[10:20] * 2 + 1
    assert np.array_equal(read_series(test_file), expected)


def test_backups_are_numbered_and_never_overwritten(test_file: Path) -> None:
    first = induce(test_file, [Region(0, 5, 2.0, 0.0)])
    first_bytes = first.read_bytes()
    second = induce(test_file, [Region(0, 5, 2.0, 0.0)])
    assert second.name == "flow_data_test.bak-2.csv"
    assert first.read_bytes() == first_bytes
    assert read_series(second)[0] == 20.0  # the state after the first induction
    # A gap in the numbering (an old backup deleted) never leads to reuse of a lower number.
    first.unlink()
    (test_file.parent / "flow_data_test.bak-7.csv").write_text("flow\n1\n")
    assert induce(test_file, [Region(0, 1, 1.0, 0.0)]).name == "flow_data_test.bak-8.csv"


def test_induce_with_plot(test_file: Path, tmp_path: Path) -> None:
    plot = tmp_path / "out" / "drift.png"
    plot.parent.mkdir()
    induce(test_file, [Region(10, 20, 2.0, 1.0)], plot=plot)
    assert plot.read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("regions", [
    [Region(10, 60, 2.0, 0.0)],
    [Region(10, 20, 2.0, 0.0), Region(15, 25, 1.0, 0.0)],
    [],
])
def test_failed_induce_leaves_the_test_file_untouched_and_writes_no_backup(
        test_file: Path, regions: list[Region]) -> None:
    original = test_file.read_bytes()
    with pytest.raises(DataError):
        induce(test_file, regions, plot=test_file.parent / "p.png")
    assert test_file.read_bytes() == original
    assert sorted(p.name for p in test_file.parent.iterdir()) == [test_file.name]


def test_plot_path_problems_are_found_before_writing(test_file: Path) -> None:
    original = test_file.read_bytes()
    with pytest.raises(DataError, match="is a directory"):
        induce(test_file, [Region(0, 5, 2.0, 0.0)], plot=test_file.parent)
    with pytest.raises(DataError, match="would overwrite the test file"):
        induce(test_file, [Region(0, 5, 2.0, 0.0)], plot=test_file)
    with pytest.raises(DataError, match="folder .*missing does not exist"):
        induce(test_file, [Region(0, 5, 2.0, 0.0)], plot=test_file.parent / "missing" / "d.png")
    with pytest.raises(DataError, match=r"/proc/x\.png: cannot write the plot there"):
        induce(test_file, [Region(0, 5, 2.0, 0.0)], plot=Path("/proc/x.png"))
    assert test_file.read_bytes() == original
    assert sorted(p.name for p in test_file.parent.iterdir()) == [test_file.name]


def test_bad_test_file_is_reported_and_nothing_written(tmp_path: Path) -> None:
    path = tmp_path / "flow_data_test.csv"
    path.write_text("flow\n1\noops\n", encoding="utf-8")
    expected = r"flow_data_test\.csv: line 3, column 'flow': 'oops' is not a number"
    with pytest.raises(DataError, match=expected):
        induce(path, [Region(0, 1, 2.0, 0.0)])
    with pytest.raises(DataError, match="file not found"):
        induce(tmp_path / "missing.csv", [Region(0, 1, 2.0, 0.0)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flow_data_test.csv"]


def test_crash_while_replacing_keeps_the_original_readable(
        test_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = test_file.read_bytes()

    def broken_write(path: Path, data: bytes) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(drift, "write_bytes", broken_write)
    with pytest.raises(OSError, match="disk full"):
        induce(test_file, [Region(0, 5, 2.0, 0.0)])
    assert test_file.read_bytes() == original
    assert test_file.with_name("flow_data_test.bak-1.csv").read_bytes() == original


def test_negative_series_are_not_clipped_and_counts_are() -> None:
    signed = np.array([-5.0, -1.0, 2.0, 4.0])
    assert apply_regions(signed, [Region(0, 4, 1.0, -10.0)]).tolist() == [-15.0, -11.0, -8.0, -6.0]
    counts = np.array([5.0, 1.0, 2.0, 4.0])
    assert apply_regions(counts, [Region(0, 4, 1.0, -3.0)]).tolist() == [2.0, 0.0, 0.0, 1.0]


def test_induce_keeps_time_stamps(tmp_path: Path) -> None:
    from harmone.data.series import read_times, write_split

    write_split(tmp_path, np.arange(10.0), np.arange(20.0), ([f"t{i}" for i in range(10)],
                                                            [f"s{i}" for i in range(20)]))
    test_file = tmp_path / "flow_data_test.csv"
    induce(test_file, [Region(0, 5, 2.0, 0.0)], plot=tmp_path / "d.png")
    assert read_times(test_file) == [f"s{i}" for i in range(20)]
    assert (tmp_path / "d.png").read_bytes().startswith(PNG_MAGIC)
    assert read_series(test_file)[:3].tolist() == [0.0, 2.0, 4.0]


def test_cli_checks_the_plot_path_before_rewriting_anything(tmp_path: Path) -> None:
    """`data drift --plot /proc/x.png` once left a rewritten stream and a backup behind a traceback."""
    from harmone.cli import main

    ws = tmp_path / "ws"
    subprocess.run([sys.executable, "-m", "harmone", "init", "-w", str(ws)], check=True, capture_output=True)
    write_series(ws / "data" / "flow_data_test.csv", np.arange(200.0))
    before = sorted((p.name, p.read_bytes()) for p in (ws / "data").iterdir())
    for plot in ("/proc/x.png", str(tmp_path / "missing" / "x.png"), str(tmp_path)):
        result = subprocess.run([sys.executable, "-m", "harmone", "data", "drift", "-w", str(ws), "--region",
                                 "0:100:2:0", "--plot", plot, "--yes"], capture_output=True, text=True)
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(f"harmone: error: {plot}: ")
        assert sorted((p.name, p.read_bytes()) for p in (ws / "data").iterdir()) == before
    assert main(["data", "drift", "-w", str(ws), "--region", "0:100:2:0", "--plot", str(tmp_path / "d.png"),
                 "--yes"]) == 0


def test_the_backup_is_as_private_as_the_file_it_keeps(test_file: Path) -> None:
    """A world-readable backup of a 0600 test file would show what the owner kept private."""
    test_file.chmod(0o600)
    old = os.umask(0o022)
    try:
        backup = induce(test_file, [Region(10, 20, 2.0, 1.0)])
    finally:
        os.umask(old)
    assert stat.S_IMODE(backup.stat().st_mode) == stat.S_IMODE(test_file.stat().st_mode) == 0o600
