"""ADWIN: an adaptive window that drops its older part when its two parts' means differ.

After Bifet and Gavaldà (2007). The window is kept compressed as an exponential histogram:
row i holds up to ``max_buckets`` buckets, each summarising 2**i consecutive values by their
sum and sum of squared deviations; when a row overflows its two oldest buckets merge into
the next row. Memory and a check cost O(max_buckets * log(window)).

Every ``clock`` values, each split of the window at a bucket boundary into an older part
(n0 values, mean m0) and a newer one (n1, m1), each at least ``min_window`` values, is
tested against the bound

    eps = sqrt(2 * v * L / m) + 2 * L / (3 * m),   m = 1 / (1/n0 + 1/n1),  L = ln(2 ln(n) / delta)

with v the window's variance. While some split has |m0 - m1| > eps the oldest bucket is
dropped: the window keeps only data of the new regime, which is how ADWIN restarts itself
to detect the next change. ``score`` is the largest |m0 - m1| / eps of the latest check
(drift when above 1); None until the first check.

Scale-free: the first ``warmup`` values estimate the series' mean and standard deviation
(then frozen) and every value enters the window standardised by them, so the bound's
second term, which assumes values of order one, means the same on any unit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harmone.detectors import register
from harmone.detectors.base import DetectorError, DriftDetector, spread, standardise, state_value
from harmone.params import Interval


@register
class ADWIN(DriftDetector):
    """ADWIN over standardised values, checked every ``clock`` values."""

    name = "adwin"
    default_params = {"delta": 0.002, "clock": 32, "min_window": 10, "max_buckets": 5, "warmup": 100}
    parameter_constraints = {"delta": Interval(float, 0, 1, closed="neither"), "clock": Interval(int, 1, None),
                             "min_window": Interval(int, 1, None), "max_buckets": Interval(int, 2, 1000),
                             "warmup": Interval(int, 2, None)}

    def _reset(self) -> None:
        self._warm: list[float] = []
        self._center = 0.0
        self._sd: float | None = None
        #: rows[i]: buckets of 2**i values, oldest first, each [sum, sum of squared deviations].
        self._rows: list[list[list[float]]] = []
        self._width = 0
        self._ticks = 0
        self._score: float | None = None

    def _update(self, value: float) -> None:
        if self._sd is None:
            self._warm.append(value)
            if len(self._warm) >= self.params["warmup"]:
                self._start()
            return
        self._insert(standardise(value, self._center, self._sd))
        self._ticks += 1
        if self._ticks >= self.params["clock"]:
            self._ticks = 0
            self._check()

    def _start(self) -> None:
        """End the warm-up: freeze the standardisation and put the warm-up values in the window."""
        n = len(self._warm)
        mean = math.fsum(self._warm) / n
        self._center = mean
        self._sd = spread(math.fsum((x - mean) ** 2 for x in self._warm), n, mean)
        for value in self._warm:
            self._insert(standardise(value, mean, self._sd))
        self._warm = []

    def _insert(self, z: float) -> None:
        rows, limit = self._rows, self.params["max_buckets"]
        if not rows:
            rows.append([])
        rows[0].append([z, 0.0])
        self._width += 1
        row = 0
        while len(rows[row]) > limit:
            (s0, q0), (s1, q1) = rows[row].pop(0), rows[row].pop(0)
            size = 2 ** row
            # Merged squared deviations: both parts' own plus the gap between their means.
            merged = [s0 + s1, q0 + q1 + (s0 - s1) ** 2 / (2 * size)]
            if row + 1 == len(rows):
                rows.append([])
            rows[row + 1].append(merged)
            row += 1

    def _buckets(self) -> list[tuple[int, float, float]]:
        """(count, sum, squared deviations) of every bucket, oldest first."""
        return [(2 ** row, s, q) for row in range(len(self._rows) - 1, -1, -1) for s, q in self._rows[row]]

    def _largest_gap(self) -> float:
        """max |m0 - m1| / eps over the allowed splits (0 when none is allowed)."""
        buckets = self._buckets()
        n = total = squares = 0.0
        for count, s, q in buckets:  # the whole window's variance, combining bucket by bucket
            if n:
                squares += q + (s / count - total / n) ** 2 * count * n / (count + n)
            else:
                squares = q
            n += count
            total += s
        variance = squares / n
        log_term = math.log(2 * math.log(n) / self.params["delta"]) if n > 1 else 0.0
        lowest = self.params["min_window"]
        worst = 0.0
        n0 = s0 = 0.0
        for count, s, _ in buckets[:-1]:
            n0 += count
            s0 += s
            n1 = n - n0
            if n0 < lowest:
                continue
            if n1 < lowest:
                break
            m = 1.0 / (1.0 / n0 + 1.0 / n1)
            eps = math.sqrt(2.0 * variance * log_term / m) + 2.0 * log_term / (3.0 * m)
            gap = abs(s0 / n0 - (total - s0) / n1)
            worst = max(worst, gap / eps)  # eps > 0: L > 0 for n >= 2 and delta < 1
        return worst

    def _check(self) -> None:
        self._score = score = self._largest_gap()
        while score > 1.0:
            self._detected = True
            self._drop_oldest()
            score = self._largest_gap()

    def _drop_oldest(self) -> None:
        while self._rows and not self._rows[-1]:
            self._rows.pop()
        self._rows[-1].pop(0)
        self._width -= 2 ** (len(self._rows) - 1)
        while self._rows and not self._rows[-1]:
            self._rows.pop()

    @property
    def width(self) -> int:
        """Values in the current window (after the warm-up)."""
        return self._width

    @property
    def score(self) -> float | None:
        return self._score

    def _get_state(self) -> dict[str, Any]:
        return {"warm": list(self._warm), "center": self._center, "sd": self._sd,
                "rows": [[list(bucket) for bucket in row] for row in self._rows],
                "ticks": self._ticks, "score": self._score}

    def _set_state(self, state: Mapping[str, Any]) -> None:
        warm = state_value(state, "warm", list)
        rows = state_value(state, "rows", list)
        sd = state_value(state, "sd", (float, type(None)))
        if sd is not None and sd <= 0:
            raise DetectorError(f"detector state: key 'sd' must be > 0, got {sd!r}")
        try:
            self._warm = [float(x) for x in warm]
            self._rows = [[[float(s), float(q)] for s, q in row] for row in rows]
        except (TypeError, ValueError):
            raise DetectorError("detector state: keys 'warm' and 'rows' must hold numbers") from None
        if not all(math.isfinite(x) for x in self._warm) or len(self._warm) >= self.params["warmup"]:
            raise DetectorError("detector state: key 'warm' must hold fewer finite numbers than warmup")
        if any(len(row) > self.params["max_buckets"] for row in self._rows):
            raise DetectorError("detector state: key 'rows' has a row with more than max_buckets buckets")
        self._center = state_value(state, "center", float)
        self._sd = sd
        self._width = sum(len(row) * 2 ** i for i, row in enumerate(self._rows))
        self._ticks = state_value(state, "ticks", int)
        self._score = state_value(state, "score", (float, type(None)))
