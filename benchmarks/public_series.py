"""Public real series bundled with statsmodels, for benchmarks (no network access needed).

The loaders live in ``harmone.matrix.streams`` (``harmone experiment --streams co2,...``
names them too); ``load(name)`` returns the values as a float array, oldest first.
"""

from __future__ import annotations

import numpy as np

from harmone.matrix.streams import PUBLIC_SERIES as SERIES

__all__ = ["SERIES", "load", "names"]


def names() -> list[str]:
    return list(SERIES)


def load(name: str) -> np.ndarray:
    """The series called ``name`` (one of ``names()``)."""
    try:
        loader = SERIES[name]
    except KeyError:
        raise KeyError(f"unknown public series {name!r} (known: {', '.join(SERIES)})") from None
    return loader()
