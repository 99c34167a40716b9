"""EDDM, the Early Drift Detection Method: the distance between a classifier's errors shrinks.

After M. Baena-García, J. del Campo-Ávila, R. Fidalgo, A. Bifet, R. Gavaldà and R.
Morales-Bueno, "Early Drift Detection Method", 4th ECML PKDD International Workshop on
Knowledge Discovery from Data Streams, 2006, pp. 77-86. Fed a classifier's error stream
(1.0 wrong, 0.0 right; a value above 0.5 is an error). At each error it takes the distance
from the previous error (from the (re)start for the first), in values, and updates the
mean p' and standard deviation s' of the distances. While the classifier is learning or
stable the errors spread out and p' + 2 s' grows; EDDM keeps its maximum and judges

    warning  when  (p' + 2 s') / max < alpha
    drift    when  (p' + 2 s') / max < beta

from the ``min_num_errors``-th error since the (re)start on (the maximum too is taken from
there: the first few distances say little). ``score`` is 1 - (p' + 2 s') / max: 0 at the
maximum, higher as errors crowd together; drift when it exceeds 1 - beta. It changes only
at an error, so it keeps its value, and the warning its state, over the right predictions
between. After a drift everything restarts. As the paper argues, it detects a rise of the
error rate sooner than DDM, gradual or abrupt; on stationary streams it also raises more
false alarms, 4 to 25 times DDM's (docs/detectors.md, ``python -m benchmarks error_detectors``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harmone.detectors import register
from harmone.detectors.base import DetectorError, ErrorStreamDetector, state_value
from harmone.params import Interval


@register
class EDDM(ErrorStreamDetector):
    """Mean plus two standard deviations of the distance between errors, against its maximum."""

    name = "eddm"
    default_params = {"alpha": 0.95, "beta": 0.9, "min_num_errors": 30}
    parameter_constraints = {"alpha": Interval(float, 0, 1, closed="right"),
                             "beta": Interval(float, 0, 1, closed="right"),
                             "min_num_errors": Interval(int, 1, None)}

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        super().check_params(params)
        cls.check_levels(params, "beta", "alpha")

    @classmethod
    def score_threshold(cls, params: Mapping[str, Any]) -> tuple[float, str] | None:
        return 1.0 - float(params["beta"]), "beta"

    def _restart(self) -> None:
        self._n = self._errors = self._last_error = 0
        self._mean = self._m2 = 0.0
        self._max: float | None = None

    def _observe(self, error: bool) -> None:
        self._n += 1
        if not error:
            return
        self._errors += 1
        distance = self._n - self._last_error
        self._last_error = self._n
        previous = self._mean
        self._mean += (distance - previous) / self._errors
        self._m2 += (distance - previous) * (distance - self._mean)
        if self._errors < self.params["min_num_errors"]:
            self._verdict(None, warning=False, drift=False)
            return
        level = self._mean + 2.0 * math.sqrt(self._m2 / self._errors)
        if self._max is None or level > self._max:
            self._max = level
        ratio = level / self._max
        self._verdict(1.0 - ratio, warning=ratio < self.params["alpha"], drift=ratio < self.params["beta"])

    def _get_state(self) -> dict[str, Any]:
        return {"n": self._n, "errors": self._errors, "last_error": self._last_error, "mean": self._mean,
                "m2": self._m2, "max": self._max, **self._verdict_state()}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        n, errors, last = (state_value(state, key, int) for key in ("n", "errors", "last_error"))
        if not 0 <= errors <= last <= n:
            raise DetectorError("detector state: keys 'errors', 'last_error' and 'n' must hold "
                                f"0 <= errors <= last_error <= n, got {errors}, {last}, {n}")
        mean, m2 = state_value(state, "mean", float), state_value(state, "m2", float)
        peak = state_value(state, "max", (float, type(None)))
        if m2 < 0 or (peak is not None and peak <= 0):
            raise DetectorError("detector state: keys 'm2' and 'max' must be >= 0 and > 0")
        self._n, self._errors, self._last_error = n, errors, last
        self._mean, self._m2, self._max = mean, m2, peak
        self._set_verdict_state(state)
