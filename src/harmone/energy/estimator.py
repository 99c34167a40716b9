"""Estimated energy from CPU time: seconds of busy core times a power per busy core.

Used where no hardware counter is readable (VMs, containers, AMD without powercap). It
is a model, not a measurement, so its ``kind`` is always "estimated".

Why 15 W per core by default: a desktop CPU of 65 W TDP with 4-8 cores, or a server CPU
of 150-250 W TDP with 16-32 cores, spends roughly 8-16 W per fully busy core; 15 W sits
at the upper end, counting some uncore and memory power that a busy core drives. It is a
rough figure, good for comparing models on one machine, not for absolute accounting;
set ``energy.watts_per_core`` to your CPU's TDP divided by its core count.

Scopes:
- "thread" counts the calling thread's CPU time only (``time.thread_time``), so the
  inference thread and the loop threads of one process are told apart. A window must
  start and end in the same thread; readings from different threads are unrelated.
- "process" counts every thread of the process (``time.process_time``), including
  worker threads that libraries such as torch start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

from harmone.energy.base import EnergyMeter

Scope = Literal["thread", "process"]
SCOPES: tuple[Scope, ...] = ("thread", "process")
#: Documented default of ``energy.watts_per_core`` (see the module docstring).
DEFAULT_WATTS_PER_CORE = 15.0
_UJ_PER_J = 1e6


class CpuTimeEstimator(EnergyMeter):
    """CPU seconds of one thread or of the whole process, times ``watts_per_core``."""

    kind = "estimated"

    def __init__(self, *, watts_per_core: float = DEFAULT_WATTS_PER_CORE, scope: Scope = "thread") -> None:
        if not (isinstance(watts_per_core, (int, float)) and math.isfinite(watts_per_core) and watts_per_core > 0):
            raise ValueError(f"watts_per_core must be a finite number > 0, got {watts_per_core!r}")
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        self.watts_per_core = watts_per_core
        self.scope = scope
        clock_name = "thread_time" if scope == "thread" else "process_time"
        self._cpu_clock: Callable[[], float] = getattr(time, clock_name)
        self._uj_per_cpu_s = float(watts_per_core) * _UJ_PER_J
        self.source = f"cpu-time-estimate:{scope}@{watts_per_core:g}W/core"
        self.resolution_uj = time.get_clock_info(clock_name).resolution * self._uj_per_cpu_s

    def read_uj(self) -> float:
        return self._cpu_clock() * self._uj_per_cpu_s
