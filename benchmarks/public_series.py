"""Public real series bundled with statsmodels, for benchmarks (no network access needed).

Each series has a trend, level changes or seasonality that a forecaster must carry beyond
its training range. ``load(name)`` returns the values as a float array, oldest first.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _co2() -> np.ndarray:
    """Weekly CO2 at Mauna Loa, 1958-2001: trend plus a yearly cycle; the few gaps interpolated."""
    from statsmodels.datasets import co2

    values = np.array(co2.load_pandas().data["co2"], dtype=np.float64)
    gaps = np.isnan(values)
    values[gaps] = np.interp(np.flatnonzero(gaps), np.flatnonzero(~gaps), values[~gaps])
    return values


def _elnino() -> np.ndarray:
    """Monthly sea surface temperature, 1950-2010: a yearly cycle and irregular El Niño swings."""
    from statsmodels.datasets import elnino

    frame = elnino.load_pandas().data
    return frame.drop(columns="YEAR").to_numpy(dtype=np.float64).reshape(-1)


def _sunspots() -> np.ndarray:
    """Yearly sunspot activity, 1700-2008: a cycle of about eleven years with varying height."""
    from statsmodels.datasets import sunspots

    return sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=np.float64)


def _macro(column: str) -> Callable[[], np.ndarray]:
    def load_column() -> np.ndarray:
        from statsmodels.datasets import macrodata

        return macrodata.load_pandas().data[column].to_numpy(dtype=np.float64)

    load_column.__doc__ = f"US quarterly macro data 1959-2009, column {column!r}."
    return load_column


def _nile() -> np.ndarray:
    """Yearly Nile flow at Aswan, 1871-1970: a level shift around 1898."""
    from statsmodels.datasets import nile

    return nile.load_pandas().data["volume"].to_numpy(dtype=np.float64)


#: Name -> loader. ``cpi`` trends far beyond its training range; ``unemp`` shifts level.
SERIES: dict[str, Callable[[], np.ndarray]] = {
    "co2": _co2,
    "elnino": _elnino,
    "sunspots": _sunspots,
    "cpi": _macro("cpi"),
    "unemp": _macro("unemp"),
    "nile": _nile,
}


def names() -> list[str]:
    return list(SERIES)


def load(name: str) -> np.ndarray:
    """The series called ``name`` (one of ``names()``)."""
    try:
        loader = SERIES[name]
    except KeyError:
        raise KeyError(f"unknown public series {name!r} (known: {', '.join(SERIES)})") from None
    return loader()
