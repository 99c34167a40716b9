"""The contract every drift detector meets: fed one value at a time, read a flag and a score.

Shaped like River's drift detectors, with three differences that suit a managing loop which
checks every few seconds and may be restarted:

- ``drift_detected`` stays true until the next ``update`` (River clears it on the update
  after). A caller that reads it must record the detection as an event at once: the next
  update may clear it, and a detector that resets after a detection will not raise it again
  for the same change.
- ``score`` exposes the detector's own statistic (KL, Page-Hinkley sum, ADWIN's mean gap
  over its bound), or None while the detector has too little data to say anything.
- ``get_state``/``set_state`` turn the detector into plain JSON data and back, so a
  restarted manager continues where it stopped.

Settings are keyword-only constructor arguments stored as passed (``params``), as in
scikit-learn and the model zoo; everything learned lives in underscored attributes and is
cleared by ``reset``. Non-finite values (NaN, inf: a missing reading) are ignored.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self

from harmone.errors import HarmonEError
from harmone.params import Constraint, validate


class DetectorError(HarmonEError, ValueError):
    """Bad detector settings or state: a ``ValueError`` with a one-line message naming the key."""


#: Standardised values are clipped to this magnitude: a series constant during a warm-up has a
#: tiny spread, and the first different value must give a large but finite statistic.
Z_LIMIT = 1e12


def standardise(value: float, center: float, sd: float) -> float:
    """(value - center) / sd, clipped to +-``Z_LIMIT`` so every statistic stays finite."""
    z = (value - center) / sd
    return z if -Z_LIMIT <= z <= Z_LIMIT else math.copysign(Z_LIMIT, z)


def spread(squares: float, n: int, mean: float) -> float:
    """A warm-up's sample standard deviation; for constant data a tiny one relative to the level."""
    sd = math.sqrt(squares / (n - 1))
    return sd if sd > 0 else 1e-9 * max(abs(mean), 1e-12)


class WarmupMoments:
    """Running mean and sum of squares (Welford) of the values seen, and the spread of a warm-up.

    The scale-free detectors standardise by the spread of their first ``warmup`` values
    (``settle``); the mean may keep moving after that, the spread does not.
    """

    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.sd: float | None = None

    def add(self, value: float) -> None:
        self.n += 1
        previous = self.mean
        self.mean += (value - previous) / self.n
        self.m2 += (value - previous) * (value - self.mean)

    def settle(self, warmup: int) -> bool:
        """Fix the spread once ``warmup`` values are in; True once it is fixed."""
        if self.sd is None and self.n >= warmup:
            self.sd = spread(self.m2, self.n, self.mean)
        return self.sd is not None

    def z(self, value: float) -> float:
        assert self.sd is not None
        return standardise(value, self.mean, self.sd)

    def get_state(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "m2": self.m2, "sd": self.sd}

    def set_state(self, state: Mapping[str, Any]) -> None:
        n, m2 = state_value(state, "n", int), state_value(state, "m2", float)
        if n < 0 or m2 < 0:
            raise DetectorError("detector state: keys 'n' and 'm2' must be >= 0")
        sd = state_value(state, "sd", (float, type(None)))
        if sd is not None and sd <= 0:
            raise DetectorError(f"detector state: key 'sd' must be > 0, got {sd!r}")
        self.n, self.mean, self.m2, self.sd = n, state_value(state, "mean", float), m2, sd


def state_value(state: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """``state[key]`` when it has the expected JSON type, else ``DetectorError`` naming the key."""
    if not isinstance(state, Mapping) or key not in state:
        raise DetectorError(f"detector state: key {key!r} is missing")
    value = state[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) and bool not in kinds:
        raise DetectorError(f"detector state: key {key!r} has the wrong type (bool)")
    if not isinstance(value, kinds) or (isinstance(value, float) and not math.isfinite(value)):
        raise DetectorError(f"detector state: key {key!r} has a bad value {value!r}")
    return value


class DriftDetector(ABC):
    """One drift detector. Subclasses set ``name`` and ``default_params`` and implement the hooks."""

    #: Registry name, used in config as ``[drift] detector = "<name>"``.
    name: ClassVar[str]
    #: Every setting with its default; the constructor accepts exactly these keys.
    default_params: ClassVar[Mapping[str, Any]]
    #: What each setting may be (``harmone.params``), one entry per key of ``default_params``.
    parameter_constraints: ClassVar[Mapping[str, Constraint]]
    #: True when detections do not change if the series is rescaled (a * x + b, a > 0).
    scale_free: ClassVar[bool] = True
    #: The config section whose keys of the same names hold this detector's settings, in place
    #: of ``[detectors.<name>]``: the published detector's have always been in ``[drift]``.
    settings_section: ClassVar[str | None] = None
    #: True when it reads a classifier's 0/1 error stream (``ErrorStreamDetector``), not the series.
    reads_errors: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.default_params)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown parameters: {sorted(unknown)}")
        self.params: dict[str, Any] = {**self.default_params, **params}
        self.check_params(self.params)
        self.n_seen = 0
        self._detected = False
        self._reset()

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Raise ``DetectorError`` (a ``ValueError``) naming the setting and its value when it is
        unknown or breaks its constraint."""
        validate(cls.parameter_constraints, params, error=DetectorError)

    @classmethod
    def first_score_after(cls, params: Mapping[str, Any]) -> tuple[int, str] | None:
        """Values it must hold before it can score at all, and the setting that fixes how many.

        For a detector that compares windows, so many values that a short stream may never
        fill them (``harmone.cadence`` says so before a run); None for one whose warm-up is
        short beside the drift loop's own (the default).
        """
        return None

    @classmethod
    def score_threshold(cls, params: Mapping[str, Any]) -> tuple[float, str] | None:
        """The score above which it detects, and the setting that fixes it; None when no setting does.

        What the graded wait and the dashboard compare the last score with. The default is the
        ``threshold`` setting; a detector whose levels have other names says which.
        """
        value = params.get("threshold")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value), "threshold"

    # -- what subclasses implement --------------------------------------------------------

    @abstractmethod
    def _reset(self) -> None:
        """Clear every learned statistic (not ``n_seen``, not the flag)."""

    @abstractmethod
    def _update(self, value: float) -> None:
        """Take one finite value; set ``self._detected`` when this value completes a detection."""

    @abstractmethod
    def _get_state(self) -> dict[str, Any]:
        """The learned statistics as plain JSON data (finite floats, ints, lists)."""

    @abstractmethod
    def _set_state(self, state: Mapping[str, Any]) -> None:
        """Restore ``_get_state`` output; raise ``DetectorError`` naming a malformed key."""

    @property
    @abstractmethod
    def score(self) -> float | None:
        """The detector's statistic, or None until it has enough data."""

    # -- the public contract --------------------------------------------------------------

    @property
    def drift_detected(self) -> bool:
        """True when the latest update completed a detection; cleared by the next update."""
        return self._detected

    @property
    def ready(self) -> bool:
        """True once the detector has enough data to give a score."""
        return self.score is not None

    def update(self, value: float) -> Self:
        """Take one value; non-finite values are ignored (the flag is kept)."""
        value = float(value)
        if math.isfinite(value):
            self._detected = False
            self.n_seen += 1
            self._update(value)
        return self

    def update_many(self, values: Iterable[float]) -> Self:
        """Take values in order, as repeated ``update``; afterwards the flag says whether the last one detected.

        A detector that resets after a detection can detect inside a batch and clear the flag
        before the batch ends: feed such detectors one value at a time when every detection
        matters.
        """
        for value in values:
            self.update(value)
        return self

    def feed(self, values: Iterable[float]) -> bool:
        """Take values in order; True when any of them completed a detection.

        What a caller that checks every few seconds uses: a detector that restarts after a
        detection may raise and clear its flag inside the batch, and that detection counts.
        """
        detected = False
        for value in values:
            detected |= self.update(value).drift_detected
        return detected

    def reset(self) -> Self:
        """Back to a fresh state with the same settings."""
        self.n_seen = 0
        self._detected = False
        self._reset()
        return self

    def clone(self) -> Self:
        """A fresh detector with the same settings."""
        return type(self)(**self.params)

    def get_state(self) -> dict[str, Any]:
        """Everything learned, as plain JSON data; ``set_state`` on a fresh instance continues from it."""
        return {"detector": self.name, "params": dict(self.params), "n_seen": self.n_seen,
                "drift_detected": self.drift_detected, **self._get_state()}

    def set_state(self, state: Mapping[str, Any]) -> Self:
        """Continue from ``get_state`` output of a detector with the same name and settings."""
        name = state_value(state, "detector", str)
        if name != self.name:
            raise DetectorError(f"detector state: key 'detector' is {name!r}, expected {self.name!r}")
        params = state_value(state, "params", dict)
        if params != self.params:
            raise DetectorError(f"detector state: key 'params' holds other settings ({params!r}) "
                                f"than this detector ({self.params!r})")
        n_seen = state_value(state, "n_seen", int)
        if n_seen < 0:
            raise DetectorError(f"detector state: key 'n_seen' must be >= 0, got {n_seen}")
        detected = state_value(state, "drift_detected", bool)
        self.reset()
        try:
            self._set_state(state)
        except DetectorError:
            self.reset()
            raise
        self.n_seen = n_seen
        self._detected = detected
        return self

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"{type(self).__name__}({settings})"


class RestartingDetector(DriftDetector):
    """A detector that judges one statistic against ``threshold`` and starts over after a detection.

    The shared part of the sequential detectors (CUSUM, Page-Hinkley): the score is the
    latest statistic (None while warming up), and a detection restarts the learned state
    on the new regime (``_restart``) while the score keeps the detecting value.
    """

    _score: float | None

    @abstractmethod
    def _restart(self) -> None:
        """Forget the learned statistics: a new warm-up on what follows."""

    def _reset(self) -> None:
        self._restart()
        self._score = None

    def _judge(self, statistic: float | None) -> None:
        """Record the statistic as the score; above ``threshold`` it is a detection and a restart."""
        self._score = statistic
        if statistic is not None and statistic > self.params["threshold"]:
            self._detected = True
            self._restart()

    @property
    def score(self) -> float | None:
        return self._score

    def _score_state(self, state: Mapping[str, Any]) -> None:
        self._score = state_value(state, "score", (float, type(None)))



#: In an error stream a value above this is an error (1.0), at or below it a correct prediction (0.0).
ERROR_ABOVE = 0.5


class ErrorStreamDetector(RestartingDetector):
    """A detector of a classifier's error stream (DDM, EDDM): a warning zone, then drift and a restart.

    Fed 1.0 for a wrong prediction and 0.0 for a right one; any value above ``ERROR_ABOVE``
    counts as an error, so a caller may feed a probability of error or a 0/1 mismatch
    alike. Not scale-free: the values are indicators, not a measurement. ``in_warning`` says
    the error statistic has left its usual range without reaching the drift level, where a
    caller may start keeping recent labelled records for a retrain.
    """

    scale_free = False
    reads_errors = True

    def _reset(self) -> None:
        super()._reset()
        self._warning = False

    def _update(self, value: float) -> None:
        self._observe(value > ERROR_ABOVE)

    @abstractmethod
    def _observe(self, error: bool) -> None:
        """Take one prediction's outcome; judge with ``_verdict`` when the statistic changed."""

    def _verdict(self, score: float | None, *, warning: bool, drift: bool) -> None:
        """Record the score and the zone; a drift is a detection and a restart (the score is kept)."""
        self._score = score
        self._warning = warning and not drift
        if drift:
            self._detected = True
            self._restart()

    @property
    def in_warning(self) -> bool:
        """True while the latest judgement was in the warning zone (never with a detection)."""
        return self._warning

    def _verdict_state(self) -> dict[str, Any]:
        return {"score": self._score, "in_warning": self._warning}

    def _set_verdict_state(self, state: Mapping[str, Any]) -> None:
        self._score_state(state)
        self._warning = state_value(state, "in_warning", bool)

    @classmethod
    def check_levels(cls, params: Mapping[str, Any], lower: str, upper: str) -> None:
        """``DetectorError`` unless setting ``lower`` <= ``upper`` (defaults filling in what ``params`` omits)."""
        merged = {**cls.default_params, **params}
        if merged[lower] > merged[upper]:
            raise DetectorError(f"{lower} = {merged[lower]!r} must be <= {upper} = {merged[upper]!r}")
