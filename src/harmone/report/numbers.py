"""How figures are written in tables and claims: significant digits, and "n/a" for a missing one."""

from __future__ import annotations

import math
from collections.abc import Sequence

#: How a missing figure (for example R² of a single prediction) is shown.
MISSING = "n/a"


def decimals(values: Sequence[float | None], significant: int = 4) -> int:
    """Decimals that show the largest value of a column with ``significant`` digits."""
    largest = max((abs(v) for v in values if v is not None), default=0.0)
    if largest == 0.0:
        return 2
    return int(min(6, max(0, significant - 1 - math.floor(math.log10(largest)))))


def fmt(value: float | None, spec: str) -> str:
    """``value`` formatted with ``spec``, or "n/a" when it is missing."""
    return MISSING if value is None else format(value, spec)


def mj(value: float) -> str:
    return f"{value:.{decimals([value])}f}"
