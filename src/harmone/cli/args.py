"""Argument types for numeric options: a value that is not finite or out of range is a usage error.

``type=finite_float(lo=0, lo_open=True)`` rejects ``nan``, ``inf`` and ``0`` when argparse
parses the command line, before any file is read or written, with a message naming the
accepted range. Numbers are plain ASCII (``harmone.numerals``): ``1_000`` or digits of
another script are refused, as in data files. Bounds shared with the configuration
(seeds, the stream cadence, time scales) are the constants of ``harmone.config``: one
bound per setting, wherever it is given.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from harmone.config import MAX_INTERVAL_S, MAX_SEED, TIME_SCALE_RANGE
from harmone.numerals import parse_float, parse_int


def _shown(bound: float) -> str:
    """A bound as a reader types it: whole numbers in full (4294967295, not 4.29497e+09)."""
    if float(bound).is_integer() and abs(bound) < 1e16:
        return str(int(bound))
    return f"{bound:g}"


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {_shown(lo)}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {_shown(hi)}")
    return " and ".join(parts)


def _in_range(value: float, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> bool:
    if lo is not None and (value < lo or (lo_open and value == lo)):
        return False
    return not (hi is not None and (value > hi or (hi_open and value == hi)))


def finite_float(lo: float | None = None, hi: float | None = None, *,
                 lo_open: bool = False, hi_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite float within [lo, hi] (ends excluded when open)."""
    def parse(text: str) -> float:
        try:
            value = parse_float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if not _in_range(value, lo, hi, lo_open, hi_open):
            raise argparse.ArgumentTypeError(f"{text!r} must be {_range_text(lo, hi, lo_open, hi_open)}")
        return value

    parse.__name__ = "number"
    return parse


def bounded_int(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number within [lo, hi]."""
    def parse(text: str) -> int:
        try:
            value = parse_int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not _in_range(value, lo, hi, False, False):
            raise argparse.ArgumentTypeError(f"{text!r} must be {_range_text(lo, hi, False, False)}")
        return value

    parse.__name__ = "whole number"
    return parse


#: A count of at least one (steps, predictions, epochs).
positive_int = bounded_int(lo=1)
#: A seed: what numpy accepts.
seed_int = bounded_int(0, MAX_SEED)
#: Seconds between two predictions (0: no pause), as long as a stream cadence may be.
interval_seconds = finite_float(0.0, MAX_INTERVAL_S)
#: A live run's time scale.
time_scale = finite_float(*TIME_SCALE_RANGE)
#: A share strictly between 0 and 1 (a train ratio).
share = finite_float(0.0, 1.0, lo_open=True, hi_open=True)


def single_char(choices: str) -> Callable[[str], str]:
    """An argparse type: one of the characters in ``choices``; ``\\t`` and ``tab`` mean a tab."""
    def parse(text: str) -> str:
        value = "\t" if text in {"\\t", "tab", "TAB"} else text
        if len(value) != 1 or value not in choices:
            shown = ", ".join(repr(c) if c != "\t" else "'\\t'" for c in choices)
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {shown}")
        return value

    parse.__name__ = "character"
    return parse
