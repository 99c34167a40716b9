"""Time stamps of an imported series: each one a date (and time), each later than the one before.

A time column is kept beside the values for plots and reports, and read as the time axis
of the stream: a stamp that is no date, or one that repeats or goes back in time, means the
rows are not the series they claim to be (a file imported twice, files in the wrong order,
a column of counters), so the import stops at the first one, naming its file and line.

Accepted: ISO 8601 (``2024-01-31``, ``2024-01-31 08:05``, ``2024-01-31T08:05:00+01:00``),
and ``MM/DD/YYYY[ HH:MM[:SS]]`` as PeMS writes it. Every stamp of one import takes the
format of the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from harmone.errors import DataError

#: The US formats PeMS and spreadsheet exports write, most specific first.
_US_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")
EXPECTED = "a date such as 2024-01-31 or 2024-01-31 08:05 (ISO 8601), or 01/31/2024 08:05:00 as PeMS writes"


@dataclass(frozen=True)
class Stamp:
    """One time stamp as found: where, and its text."""

    path: Path
    line: int
    column: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path}: line {self.line}, column {self.column!r}"


def _iso(text: str) -> datetime:
    if not text[:4].isascii() or not text[:4].isdigit():  # fromisoformat also reads '20240131'-like forms
        raise ValueError(text)
    moment = datetime.fromisoformat(text)
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _parser(text: str) -> Callable[[str], datetime] | None:
    """The reader of the first stamp's format, or None when it is no date."""
    try:
        _iso(text)
        return _iso
    except ValueError:
        pass
    for fmt in _US_FORMATS:
        try:
            datetime.strptime(text, fmt)
        except ValueError:
            continue
        return lambda stamp, fmt=fmt: datetime.strptime(stamp, fmt)
    return None


def check_stamps(stamps: Sequence[Stamp]) -> None:
    """Every stamp a date in the first one's format and later than the one before it, or a ``DataError``."""
    if not stamps:
        return
    parse = _parser(stamps[0].text)
    previous: tuple[datetime, Stamp] | None = None
    for stamp in stamps:
        if not stamp.text:
            raise DataError(f"{stamp.where}: blank time stamp")
        try:
            if parse is None:
                raise ValueError(stamp.text)
            moment = parse(stamp.text)
        except ValueError:
            raise DataError(f"{stamp.where}: {stamp.text!r} is not a time stamp in the format of the first"
                            f" ({EXPECTED})") from None
        if previous is not None and moment <= previous[0]:
            before = previous[1]
            at = f"line {before.line}" if before.path == stamp.path else f"{before.path} line {before.line}"
            verb = "repeats" if moment == previous[0] else "is earlier than"
            raise DataError(f"{stamp.where}: time stamp {stamp.text!r} {verb} {before.text!r} of {at}"
                            f" (rows must be in time order, each stamp once)")
        previous = (moment, stamp)
