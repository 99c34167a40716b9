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
from harmone.detectors.base import RestartingDetector, WarmupMoments, state_value
from harmone.params import Interval

_STATS = ("up", "up_min", "down", "down_max")


@register
class PageHinkley(RestartingDetector):
    """Page-Hinkley on standardised values; restarts after each detection."""

    name = "page-hinkley"
    default_params = {"delta": 0.25, "threshold": 25.0, "min_instances": 100, "alpha": 0.9999}
    parameter_constraints = {"delta": Interval(float, 0, None), "threshold": Interval(float, 0, None, closed="neither"),
                             "min_instances": Interval(int, 2, None), "alpha": Interval(float, 0, 1, closed="right")}

    def _restart(self) -> None:
        self._moments = WarmupMoments()
        self._up = self._up_min = self._down = self._down_max = 0.0

    def _update(self, value: float) -> None:
        moments = self._moments
        moments.add(value)  # the mean follows every value; the spread is the warm-up's
        if not moments.settle(self.params["min_instances"]) or moments.n == self.params["min_instances"]:
            self._judge(None)  # still warming up, or this value completed the warm-up
            return
        z = moments.z(value)
        alpha, delta = self.params["alpha"], self.params["delta"]
        self._up = alpha * self._up + z - delta
        self._up_min = min(alpha * self._up_min, self._up)
        self._down = alpha * self._down + z + delta
        self._down_max = max(alpha * self._down_max, self._down)
        self._judge(max(self._up - self._up_min, self._down_max - self._down))

    def _get_state(self) -> dict[str, Any]:
        return {**self._moments.get_state(), "up": self._up, "up_min": self._up_min, "down": self._down,
                "down_max": self._down_max, "score": self._score}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        values = {key: state_value(state, key, float) for key in _STATS}
        self._moments.set_state(state)
        self._up, self._up_min = values["up"], values["up_min"]
        self._down, self._down_max = values["down"], values["down_max"]
        self._score_state(state)
