"""DDM, the Drift Detection Method: a classifier's error rate against its lowest point so far.

After J. Gama, P. Medas, G. Castillo and P. Rodrigues, "Learning with Drift Detection",
SBIA 2004 (LNCS 3171), pp. 286-295. Fed a classifier's error stream (1.0 wrong, 0.0 right;
a value above 0.5 is an error). After n values since the (re)start the error rate is p and
its binomial standard deviation s = sqrt(p (1 - p) / n). While the stream is stationary
p + s falls as n grows; DDM keeps p_min and s_min where p + s was lowest and judges

    warning  when  p + s >= p_min + warning_level * s_min
    drift    when  p + s >= p_min + out_control_level * s_min

from the ``min_samples``-th value on. ``score`` is (p + s - p_min) / s_min, the rise in units
of s_min, so the levels compare with it directly (drift when score >= out_control_level).
After a drift everything restarts on the new regime. DDM sees only rises of the error
rate: a classifier that gets better is not a drift to it.

One departure from the paper: a minimum is recorded only where s > 0. While every value
since the restart is the same (no error yet, or nothing but errors), s is 0 and the first
value of the other kind would be a "drift" at any level; DDM does not judge (score None)
until the stream has shown both outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harmone.detectors import register
from harmone.detectors.base import DetectorError, ErrorStreamDetector, state_value
from harmone.params import Interval


@register
class DDM(ErrorStreamDetector):
    """Error rate plus its standard deviation against the lowest seen; restarts after each detection."""

    name = "ddm"
    default_params = {"warning_level": 2.0, "out_control_level": 3.0, "min_samples": 30}
    parameter_constraints = {"warning_level": Interval(float, 0, None, closed="neither"),
                             "out_control_level": Interval(float, 0, None, closed="neither"),
                             "min_samples": Interval(int, 1, None)}

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        super().check_params(params)
        cls.check_levels(params, "warning_level", "out_control_level")

    @classmethod
    def score_threshold(cls, params: Mapping[str, Any]) -> tuple[float, str] | None:
        return float(params["out_control_level"]), "out_control_level"

    def _restart(self) -> None:
        self._n = self._errors = 0
        self._p_min: float | None = None
        self._s_min: float | None = None

    def _observe(self, error: bool) -> None:
        self._n += 1
        self._errors += error
        if self._n < self.params["min_samples"]:
            self._verdict(None, warning=False, drift=False)
            return
        p = self._errors / self._n
        s = math.sqrt(p * (1.0 - p) / self._n)
        if s > 0 and (self._s_min is None or p + s < self._p_min + self._s_min):
            self._p_min, self._s_min = p, s
        if self._s_min is None:  # one outcome only so far: no spread to judge by
            self._verdict(None, warning=False, drift=False)
            return
        score = (p + s - self._p_min) / self._s_min
        self._verdict(score, warning=score >= self.params["warning_level"],
                      drift=score >= self.params["out_control_level"])

    @property
    def error_rate(self) -> float | None:
        """p: errors per value since the (re)start; None before the first."""
        return self._errors / self._n if self._n else None

    def _get_state(self) -> dict[str, Any]:
        return {"n": self._n, "errors": self._errors, "p_min": self._p_min, "s_min": self._s_min,
                **self._verdict_state()}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        n, errors = state_value(state, "n", int), state_value(state, "errors", int)
        if not 0 <= errors <= n:
            raise DetectorError(f"detector state: keys 'n' and 'errors' must hold 0 <= errors <= n, got {errors}, {n}")
        p_min = state_value(state, "p_min", (float, type(None)))
        s_min = state_value(state, "s_min", (float, type(None)))
        if (p_min is None) != (s_min is None) or (s_min is not None and s_min <= 0):
            raise DetectorError("detector state: keys 'p_min' and 's_min' must both be null, or s_min > 0")
        self._n, self._errors, self._p_min, self._s_min = n, errors, p_min, s_min
        self._set_verdict_state(state)
