"""Two-sided CUSUM against a reference level: the cheapest detector, for a level that should hold.

After each (re)start the first ``warmup`` values estimate the reference mean and standard
deviation (then frozen); every later value becomes z = (x - mean) / sd, so ``drift`` and
``threshold`` are in standard deviations (scale-free). Two sums watch a rise and a fall:

    high = max(0, high + z - drift)      low = max(0, low - z - drift)

Drift when either exceeds ``threshold``; then the detector restarts (a new warm-up on the
new regime). Unlike Page-Hinkley the reference does not follow the data, so a slow trend
is also reported. ``score`` is the larger sum, None during a warm-up (except right after a
detection, when it keeps the detecting value until the next update).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harmone.detectors import register
from harmone.detectors.base import DetectorError, RestartingDetector, WarmupMoments, state_value
from harmone.params import Interval


@register
class CUSUM(RestartingDetector):
    """Two-sided CUSUM on values standardised by a warm-up; restarts after each detection."""

    name = "cusum"
    default_params = {"drift": 0.5, "threshold": 12.0, "warmup": 200}
    parameter_constraints = {"drift": Interval(float, 0, None), "threshold": Interval(float, 0, None, closed="neither"),
                             "warmup": Interval(int, 2, None)}

    def _restart(self) -> None:
        self._moments = WarmupMoments()
        self._high = self._low = 0.0

    def _update(self, value: float) -> None:
        moments = self._moments
        if moments.sd is None:  # the warm-up: its mean and spread standardise what follows
            self._judge(None)
            moments.add(value)
            moments.settle(self.params["warmup"])
            return
        z = moments.z(value)
        allowance = self.params["drift"]
        self._high = max(0.0, self._high + z - allowance)
        self._low = max(0.0, self._low - z - allowance)
        self._judge(max(self._high, self._low))

    def _get_state(self) -> dict[str, Any]:
        return {**self._moments.get_state(), "high": self._high, "low": self._low, "score": self._score}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        high, low = state_value(state, "high", float), state_value(state, "low", float)
        if high < 0 or low < 0:
            raise DetectorError("detector state: keys 'high' and 'low' must be >= 0")
        self._moments.set_state(state)
        self._high, self._low = high, low
        self._score_state(state)
