"""Numbers as written in data files and on the command line: plain ASCII digits only.

Python's ``float`` and ``int`` read more than a data file or an option should hold:
``1_234`` (an underscore separator), digits of other scripts (``١٢٣``, ``１２３``) and
surrounding whitespace of any kind. A value like that is far more likely a mistake or a
file from another tool than a number meant as written, so these readers accept only
``[+-]digits[.digits][e[+-]digits]`` in ASCII, plus the words ``inf``, ``infinity`` and
``nan`` (which callers then refuse with their own, clearer message).
"""

from __future__ import annotations

import re

_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT = re.compile(r"[+-]?[0-9]+")
_WORDS = {"inf", "infinity", "nan"}


def parse_float(text: str) -> float:
    """``text`` (surrounding ASCII spaces allowed) as a float; ``ValueError`` for anything else."""
    stripped = text.strip(" \t\r\n")
    if _FLOAT.fullmatch(stripped) or stripped.lstrip("+-").lower() in _WORDS:
        return float(stripped)
    raise ValueError(f"not a plain number: {text!r}")


def parse_int(text: str) -> int:
    """``text`` (surrounding ASCII spaces allowed) as a whole number; ``ValueError`` for anything else."""
    stripped = text.strip(" \t\r\n")
    if _INT.fullmatch(stripped):
        return int(stripped)
    raise ValueError(f"not a plain whole number: {text!r}")
