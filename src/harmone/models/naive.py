"""The naive baselines: persistence and seasonal persistence, ordinary kinds of the zoo.

Every representation (``scaling.py``) maps a window and its target with one affine map, so
returning one encoded input returns that raw value: persistence returns the last value,
seasonal persistence the value one season back. They have nothing to fit, cost next to
nothing to serve, and are versioned, switched to and metered like any other kind; they are
the bar a learned model has to clear.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np

from harmone.errors import ModelError
from harmone.models import register
from harmone.models.base import INPUTS, Model, Progress
from harmone.models.linear import check_training_data
from harmone.params import Constraint, Interval

#: Longest season searched for when ``season = 0`` (auto), in steps.
MAX_SEASON = 400


def detect_season(values: np.ndarray, max_season: int = MAX_SEASON) -> int:
    """The season of ``values``: the first strong peak of the autocorrelation of the detrended levels.

    A quadratic trend is removed first (a trend makes every lag alike). Short lags of a
    smooth series always correlate without being a season, so peaks count only after the
    autocorrelation first drops below zero; of the positive peaks up to ``max_season`` steps
    (leaving at least two seasons in the data), the shortest within 10 % of the highest wins,
    so a multiple of the season does not beat the season by noise. 1 (persistence) when no
    peak stands out of noise.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    longest = min(max_season, n // 2 - 1)
    if longest < 2:
        return 1
    steps = np.arange(n, dtype=np.float64)
    rest = values - np.polyval(np.polyfit(steps, values, 2), steps)
    rest -= rest.mean()
    energy = float(rest @ rest)
    if not energy > 1e-12 * max(1.0, float(values @ values)):
        return 1
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(rest, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[:longest + 2] / energy
    below = np.flatnonzero(acf[1:longest + 1] < 0.0)
    if not below.size:
        return 1
    lags = np.arange(int(below[0]) + 2, longest + 1)
    peaks = lags[(acf[lags] > acf[lags - 1]) & (acf[lags] >= acf[lags + 1]) & (acf[lags] > 0.0)]
    # White noise has autocorrelations of standard error 1/sqrt(n); the highest of a few
    # hundred lags reaches about 3/sqrt(n), so a season must stand above 4/sqrt(n).
    if not peaks.size or float(acf[peaks].max()) < 4.0 / np.sqrt(n):
        return 1
    best = float(acf[peaks].max())
    return int(peaks[np.flatnonzero(acf[peaks] >= 0.9 * best)[0]])


class _NaiveModel(Model):
    """A model that returns one column of its input: which one is ``lag_`` (1 = the last)."""

    lag_: int

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        lag = self._lag()
        if X.ndim != 2 or X.shape[1] < lag:
            raise ModelError(f"{self.kind} model needs windows of at least {lag} values, got shape {X.shape}")
        return X[:, -lag].copy()

    def predict_one(self, window: Sequence[float]) -> float:
        lag = self._lag()
        if len(window) < lag:
            raise ModelError(f"{self.kind} model needs windows of at least {lag} values, got {len(window)}")
        return float(window[-lag])

    def _lag(self) -> int:
        try:
            return self.lag_
        except AttributeError:
            raise ModelError(f"{self.kind} model is not fitted") from None

    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0, progress: Progress | None = None) -> Self:
        """Nothing to learn: only checks that the windows reach back far enough."""
        self.check_params(self.params)
        X, _ = check_training_data(X, y)
        self.lag_ = self._planned_lag()
        if X.shape[1] < self.lag_:
            raise ValueError(f"{self.kind} model needs windows of at least {self.lag_} values, got {X.shape[1]}")
        self.selected_ = self._selected()
        if progress is not None:
            progress(1, 1)
        return self

    def _planned_lag(self) -> int:
        return 1

    def _selected(self) -> dict[str, Any]:
        """What fitting chose, reported with the version: nothing, unless the kind finds a lag."""
        return {}

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"lag": np.asarray([float(self._lag())])}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> Self:
        model = cls(**params)
        cls.check_params(model.params)
        lag = np.asarray(arrays["lag"], dtype=np.float64)
        if lag.shape != (1,) or not np.isfinite(lag[0]) or lag[0] < 1 or lag[0] != int(lag[0]):
            raise ValueError(f"array 'lag' must hold one positive whole number, got {lag!r}")
        model.lag_ = int(lag[0])
        return model


@register
class PersistenceModel(_NaiveModel):
    """Predicts the last value."""

    kind: ClassVar[str] = "persistence"
    default_params: ClassVar[Mapping[str, Any]] = {"inputs": "relative"}
    parameter_constraints: ClassVar[Mapping[str, Constraint]] = {"inputs": INPUTS}
    naive_bar: ClassVar[bool] = True

    def plan_context(self, series: np.ndarray, window: int) -> int:
        return window


@register
class SeasonalModel(_NaiveModel):
    """Predicts the value one season back; ``season = 0`` finds the season in the training data."""

    kind: ClassVar[str] = "seasonal"
    default_params: ClassVar[Mapping[str, Any]] = {"inputs": "relative", "season": 0}
    #: ``season`` 0 finds the season in the training data.
    parameter_constraints: ClassVar[Mapping[str, Constraint]] = {"inputs": INPUTS, "season": Interval(int, 0, 10_000)}

    def plan_context(self, series: np.ndarray, window: int) -> int:
        """The season (given, or detected in ``series``) fixes how far back the window reaches."""
        self.check_params(self.params)
        season = int(self.params["season"]) or detect_season(series)
        self._season = season
        return max(window, season)

    def _planned_lag(self) -> int:
        return getattr(self, "_season", None) or int(self.params["season"]) or 1

    def _selected(self) -> dict[str, Any]:
        return {"season": self.lag_}
