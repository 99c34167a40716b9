"""Time behind one interface: wall time for live deployments, simulated time for replays.

With ``SimulatedClock`` a prediction advances time by the stream cadence and the loops
fire when due, so hours of stream replay in seconds and identically for a seed (on one
machine; on another the same decisions, floats within 1e-9: BLAS kernels differ by processor).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the clock's origin."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        ...


class WallClock:
    """Real time, optionally sped up: ``time_scale`` K makes every interval K times shorter."""

    def __init__(self, *, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.time_scale = time_scale
        self._origin = time.monotonic()

    def now(self) -> float:
        """Scaled seconds since creation: the clock the loops' schedules are written in."""
        return (time.monotonic() - self._origin) * self.time_scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.time_scale)


class SimulatedClock:
    """Time that moves only when told to; sleeping advances it instantly."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)
