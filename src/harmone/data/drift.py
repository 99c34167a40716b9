"""Induce drift in a test stream on purpose, to watch the managing system react.

A region ``START:END:SCALE:SHIFT`` replaces ``values[START:END]`` (indices into the test
stream, END exclusive) by ``values * SCALE + SHIFT``, clipped at 0 when the stream has no
negative value (a count such as traffic flow stays a count). ``induce`` keeps the original
as a numbered backup, so every induction can be undone, and validates everything (the plot
path first) before it writes anything.
"""

from __future__ import annotations

import io
import math
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harmone.atomic import create_new, fsync_dir, write_bytes
from harmone.data.output_path import check_output_path
from harmone.data.series import COLUMN, MAX_MAGNITUDE, format_values, read_series, read_times
from harmone.errors import DataError
from harmone.numerals import parse_float, parse_int

REGION_FORMAT = "START:END:SCALE:SHIFT"


@dataclass(frozen=True)
class Region:
    """``values[start:end] * scale + shift``; indices into the test stream, end exclusive."""

    start: int
    end: int
    scale: float
    shift: float

    def __str__(self) -> str:
        return f"{self.start}:{self.end}:{self.scale:g}:{self.shift:g}"


def parse_region(text: str) -> Region:
    """``"START:END:SCALE:SHIFT"`` as a ``Region``; errors quote the text."""
    parts = text.strip().split(":")
    if len(parts) != 4:
        raise DataError(f"region {text!r}: expected {REGION_FORMAT}, e.g. 2000:4000:1.5:0")
    try:
        start, end = parse_int(parts[0]), parse_int(parts[1])
    except ValueError:
        raise DataError(f"region {text!r}: START and END must be whole numbers") from None
    try:
        scale, shift = parse_float(parts[2]), parse_float(parts[3])
    except ValueError:
        raise DataError(f"region {text!r}: SCALE and SHIFT must be numbers") from None
    if not (math.isfinite(scale) and math.isfinite(shift)):
        raise DataError(f"region {text!r}: SCALE and SHIFT must be finite")
    if scale < 0:
        raise DataError(f"region {text!r}: SCALE must be >= 0 (a negative scale would flip the series)")
    if start < 0:
        raise DataError(f"region {text!r}: START must be >= 0")
    if start >= end:
        raise DataError(f"region {text!r}: START must be less than END")
    return Region(start, end, scale, shift)


def check_regions(regions: Sequence[Region], n_values: int) -> list[Region]:
    """The regions sorted by start, or an error naming the region (or pair) at fault."""
    if not regions:
        raise DataError("no drift regions given")
    for region in regions:
        if region.start < 0 or region.start >= region.end:
            raise DataError(f"region {region}: START must be >= 0 and less than END")
        if region.end > n_values:
            raise DataError(f"region {region}: END {region.end} is beyond the test stream "
                            f"({n_values} values, indices 0..{n_values - 1})")
        if not (math.isfinite(region.scale) and math.isfinite(region.shift)) or region.scale < 0:
            raise DataError(f"region {region}: SCALE must be finite and >= 0, SHIFT finite")
    ordered = sorted(regions, key=lambda r: (r.start, r.end))
    for first, second in zip(ordered, ordered[1:]):
        if second.start < first.end:
            raise DataError(f"regions {first} and {second} overlap")
    return ordered


def apply_regions(values: np.ndarray, regions: Sequence[Region]) -> np.ndarray:
    """A new array with every region rescaled and shifted; the input is left as it was.

    Results are clipped at 0 when no input value is negative, so a count stays a count.
    """
    out = np.array(values, dtype=np.float64, copy=True)
    floor = 0.0 if out.size and float(out.min()) >= 0 else -np.inf
    for region in check_regions(regions, len(out)):
        span = slice(region.start, region.end)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, in one line
            changed = np.maximum(out[span] * region.scale + region.shift, floor)
        largest = float(np.max(np.abs(changed), initial=0.0))
        if not largest <= MAX_MAGNITUDE:
            shown = "an infinite value" if not math.isfinite(largest) else f"{largest:g}"
            raise DataError(f"region {region}: values x SCALE + SHIFT reach {shown}, beyond the supported"
                            f" magnitude {MAX_MAGNITUDE:g}")
        out[span] = changed
    return out


#: Labelled ticks on a time axis.
TIME_TICKS = 6


def render_before_after(before: np.ndarray, after: np.ndarray, regions: Sequence[Region],
                        times: Sequence[str] | None = None) -> bytes:
    """PNG bytes of the stream before and after, drift regions shaded; stamps label the axis if given."""
    # Imported here: matplotlib costs ~0.3 s, and only plotting needs it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    steps = np.arange(len(before))
    ax.plot(steps, before, linewidth=0.5, color="tab:blue", label="before")
    ax.plot(steps, after, linewidth=0.5, color="tab:red", alpha=0.8, label="after")
    for i, region in enumerate(regions):
        ax.axvspan(region.start, region.end, color="tab:orange", alpha=0.2,
                   label="drift region" if i == 0 else None)
    ax.set_xlabel("test stream index")
    if times is not None and len(times) == len(before) and len(times):
        ticks = np.linspace(0, len(times) - 1, min(TIME_TICKS, len(times))).astype(int)
        ax.set_xticks(ticks, [times[i] for i in ticks], rotation=15)
        ax.set_xlabel("time")
    ax.set_ylabel("value")
    ax.set_title("Induced drift")
    ax.legend(loc="upper right")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def plot_before_after(before: np.ndarray, after: np.ndarray, regions: Sequence[Region], path: Path,
                      times: Sequence[str] | None = None) -> None:
    """Write the before/after PNG to ``path`` (atomically)."""
    write_bytes(Path(path), render_before_after(before, after, regions, times))


def next_backup(path: Path) -> Path:
    """``<stem>.bak-<n>.csv`` with n one above every existing backup, so none is overwritten."""
    path = Path(path)
    pattern = re.compile(re.escape(path.stem) + r"\.bak-(\d+)\.csv")
    numbers = [0]
    if path.parent.is_dir():
        for entry in path.parent.iterdir():
            match = pattern.fullmatch(entry.name)
            if match:
                numbers.append(int(match.group(1)))
    return path.with_name(f"{path.stem}.bak-{max(numbers) + 1}.csv")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` (failing if it exists) with ``data`` and ``mode``, durably."""
    fd = create_new(path, mode=mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def induce(test_path: Path, regions: Sequence[Region], *, plot: Path | None = None) -> Path:
    """Apply ``regions`` to the test file in place; returns the backup of the original.

    Order: check the plot path, read and validate, compute the new series and the plot,
    write the backup, replace the test file atomically (time stamps kept), write the plot.
    A failure before the backup leaves nothing changed; after it, the original is always
    recoverable from the backup.
    """
    test_path = Path(test_path)
    if plot is not None:
        plot = Path(plot)
        if plot.resolve() == test_path.resolve():
            raise DataError(f"{plot}: the plot would overwrite the test file")
        check_output_path(plot, what="plot", error=DataError)
    before = read_series(test_path, COLUMN)
    original = test_path.read_bytes()
    mode = stat.S_IMODE(test_path.stat().st_mode)  # the backup is as private as the original
    after = apply_regions(before, regions)
    times = read_times(test_path)
    new_text = format_values(after, COLUMN, str(test_path), times).encode("utf-8")
    png = None
    if plot is not None:
        png = render_before_after(before, after, check_regions(regions, len(before)), times)
    while True:
        backup = next_backup(test_path)
        try:
            _write_new(backup, original, mode)
            break
        except FileExistsError:  # another induction took this number meanwhile
            continue
    write_bytes(test_path, new_text)
    if plot is not None and png is not None:
        write_bytes(plot, png)
    return backup
