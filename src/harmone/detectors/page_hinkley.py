"""Two-sided Page-Hinkley test: cumulative deviations from the running mean, in standard deviations.

After each (re)start the first ``min_instances`` values are a warm-up: they estimate the
series' standard deviation, which is then frozen. Every later value x becomes
z = (x - running mean) / warm-up sd, so ``delta`` and ``threshold`` are in standard
deviations and the test behaves the same on any unit or offset (scale-free). Two sums watch
for a rise and a fall:

    up   = alpha * up   + z - delta      rise statistic:  up - min(up)
    down = alpha * down + z + delta      fall statistic:  max(down) - down

``alpha`` (just below 1) slowly forgets old deviations; it discounts the extremes as well
as the sums, so forgetting never adds a drift of its own (discounting only the sums pulls
them back towards zero by (1 - alpha) * |sum| per value, which on a long stationary stream
cancels ``delta`` and ends in false alarms). Drift when either statistic exceeds
``threshold``; then every statistic restarts (a new warm-up on the new regime), so the next
change can be detected. ``score`` is the larger statistic, None during a warm-up (except
right after a detection, when it keeps the detecting value until the next update).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harmone.detectors import register
from harmone.detectors.base import DetectorError, DriftDetector, check_number, spread, standardise, state_value

_STATS = ("n", "mean", "m2", "up", "up_min", "down", "down_max")


@register
class PageHinkley(DriftDetector):
    """Page-Hinkley on standardised values; restarts after each detection."""

    name = "page-hinkley"
    default_params = {"delta": 0.25, "threshold": 25.0, "min_instances": 100, "alpha": 0.9999}

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        check_number(params, "delta", lo=0)
        check_number(params, "threshold", lo=0, lo_open=True)
        check_number(params, "min_instances", lo=2, integer=True)
        check_number(params, "alpha", lo=0, lo_open=True, hi=1)

    def _reset(self) -> None:
        self._restart()
        self._score: float | None = None

    def _restart(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0
        self._sd: float | None = None
        self._up = self._up_min = self._down = self._down_max = 0.0

    def _update(self, value: float) -> None:
        self._n += 1
        previous = self._mean
        self._mean += (value - previous) / self._n
        if self._sd is None:
            self._score = None
            self._m2 += (value - previous) * (value - self._mean)
            if self._n >= self.params["min_instances"]:
                self._sd = spread(self._m2, self._n, self._mean)
            return
        z = standardise(value, self._mean, self._sd)
        alpha, delta = self.params["alpha"], self.params["delta"]
        self._up = alpha * self._up + z - delta
        self._up_min = min(alpha * self._up_min, self._up)
        self._down = alpha * self._down + z + delta
        self._down_max = max(alpha * self._down_max, self._down)
        self._score = max(self._up - self._up_min, self._down_max - self._down)
        if self._score > self.params["threshold"]:
            self._detected = True
            self._restart()

    @property
    def score(self) -> float | None:
        return self._score

    def _get_state(self) -> dict[str, Any]:
        return {"n": self._n, "mean": self._mean, "m2": self._m2, "sd": self._sd, "up": self._up,
                "up_min": self._up_min, "down": self._down, "down_max": self._down_max, "score": self._score}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        values = {key: state_value(state, key, int if key == "n" else float) for key in _STATS}
        if values["n"] < 0 or values["m2"] < 0:
            raise DetectorError("detector state: keys 'n' and 'm2' must be >= 0")
        sd = state_value(state, "sd", (float, type(None)))
        if sd is not None and sd <= 0:
            raise DetectorError(f"detector state: key 'sd' must be > 0, got {sd!r}")
        score = state_value(state, "score", (float, type(None)))
        self._n, self._mean, self._m2 = values["n"], values["mean"], values["m2"]
        self._up, self._up_min = values["up"], values["up_min"]
        self._down, self._down_max = values["down"], values["down_max"]
        self._sd, self._score = sd, score
