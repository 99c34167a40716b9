"""Stream names of a matrix: built-in profiles, public real series, or a CSV file.

- ``default``, ``alt``, ``pems``: the built-in synthetic streams (``data.synth``), generated
  for the cell's seed, so each seed is another draw of the same regimes;
- ``co2``, ``elnino``, ``sunspots``, ``cpi``, ``unemp``, ``nile``: public real series shipped
  with statsmodels (optional: only needed when one is named); the seed changes training
  and exploration, not the values;
- anything else ending in ``.csv`` (or naming an existing file): a CSV read like
  ``harmone data import`` reads it;
- ``digits``: the built-in image stream (``data.digits``), a classification task, generated
  for the cell's seed;
- ``FILE.csv#COLUMN``: a labelled CSV, classified by its column ``COLUMN`` (``harmone data
  import FILE --label COLUMN``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harmone.data.synth import PROFILES
from harmone.errors import HarmonEError

#: Share of a real series (public or CSV) that trains: they are short, the test needs room.
SERIES_TRAIN_RATIO = 0.5


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


#: Public real series by name. ``cpi`` trends far beyond its training range; ``unemp`` shifts level.
PUBLIC_SERIES: dict[str, Callable[[], np.ndarray]] = {
    "co2": _co2, "elnino": _elnino, "sunspots": _sunspots, "cpi": _macro("cpi"), "unemp": _macro("unemp"),
    "nile": _nile,
}


def public_series_available() -> bool:
    """True when statsmodels (the optional source of the public series) is importable."""
    import importlib.util

    return importlib.util.find_spec("statsmodels") is not None


def load_public(name: str) -> np.ndarray:
    """The public series ``name``; a one-line error when unknown or statsmodels is missing."""
    try:
        loader = PUBLIC_SERIES[name]
    except KeyError:
        raise HarmonEError(f"unknown public series {name!r} (known: {', '.join(PUBLIC_SERIES)})") from None
    if not public_series_available():
        raise HarmonEError(f"stream {name!r} needs statsmodels (pip install statsmodels)")
    return loader()


#: The built-in classification streams.
DIGITS = "digits"
#: Separates a labelled CSV's path from its label column: ``FILE.csv#COLUMN``.
LABEL_MARK = "#"


@dataclass(frozen=True)
class StreamSource:
    """How a stream name resolves: its kind, its task, and for series and labelled CSVs the data."""

    name: str
    kind: str  # "builtin", "public", "csv", "digits" or "labelled"
    values: Any = None
    task: str = "forecasting"


def task_of(name: str) -> str:
    """The task a stream name's records belong to (nothing is loaded)."""
    return "classification" if name == DIGITS or LABEL_MARK in name else "forecasting"


def _labelled(name: str) -> tuple[Path, str]:
    path, _, column = name.rpartition(LABEL_MARK)
    if not Path(path).is_file():
        raise HarmonEError(f"stream {name!r}: no such CSV file {path!r}")
    if not column:
        raise HarmonEError(f"stream {name!r}: name the label column after {LABEL_MARK!r} (FILE.csv{LABEL_MARK}COLUMN)")
    return Path(path), column


def check(name: str) -> None:
    """Fail now, in one line, on a stream name no cell could resolve (nothing is loaded)."""
    if name in PROFILES or name == DIGITS:
        return
    if LABEL_MARK in name and not Path(name).is_file():
        _labelled(name)
        return
    if name in PUBLIC_SERIES:
        if not public_series_available():
            raise HarmonEError(f"stream {name!r} needs statsmodels (pip install statsmodels)")
        return
    if Path(name).is_file():
        return
    if name.lower().endswith(".csv"):
        raise HarmonEError(f"stream {name!r}: no such CSV file")
    raise HarmonEError(f"unknown stream {name!r}: give one of {', '.join([*PROFILES, *PUBLIC_SERIES, DIGITS])}, "
                       f"a path to a CSV file, or FILE.csv{LABEL_MARK}COLUMN for a labelled one")


def resolve(name: str) -> StreamSource:
    """What ``name`` is; values are loaded for public series and CSV files."""
    if name in PROFILES:
        return StreamSource(name, "builtin")
    if name == DIGITS:
        return StreamSource(name, "digits", task="classification")
    if LABEL_MARK in name and not Path(name).is_file():
        from harmone.data.importer import read_labelled_csv

        path, column = _labelled(name)
        return StreamSource(name, "labelled", read_labelled_csv([path], label=column), task="classification")
    if name in PUBLIC_SERIES:
        return StreamSource(name, "public", load_public(name))
    path = Path(name)
    if name.lower().endswith(".csv") or path.is_file():
        if not path.is_file():
            raise HarmonEError(f"stream {name!r}: no such CSV file")
        from harmone.data.importer import import_csv

        return StreamSource(name, "csv", import_csv([path]))
    known = [*PROFILES, *PUBLIC_SERIES]
    raise HarmonEError(f"unknown stream {name!r}: give one of {', '.join(known)} or a path to a CSV file")
