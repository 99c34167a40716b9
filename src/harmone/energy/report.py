"""A self-check for ``harmone energy``: what the meter is, what a reading costs, whether it moves."""

from __future__ import annotations

import statistics
import time

from harmone.energy.base import EnergyMeter, window

#: Readings timed per batch; timing single reads would mostly time the clock.
_BATCH = 100


def read_cost_us(meter: EnergyMeter, *, readings: int = 2000) -> float:
    """Median cost of one ``read_uj`` in µs, over batches of readings."""
    read = meter.read_uj
    batch_costs_us = []
    for _ in range(max(1, readings // _BATCH)):
        start_ns = time.perf_counter_ns()
        for _ in range(_BATCH):
            read()
        batch_costs_us.append((time.perf_counter_ns() - start_ns) / _BATCH / 1000.0)
    return statistics.median(batch_costs_us)


def busy_loop(duration_s: float) -> int:
    """Keep one core busy for ``duration_s`` with integer arithmetic; returns the result."""
    state = 12345
    end_s = time.perf_counter() + duration_s
    while time.perf_counter() < end_s:
        for _ in range(1000):
            state = (state * 1103515245 + 12345) & 0xFFFFFFFF
    return state


def self_check(meter: EnergyMeter, *, readings: int = 2000, busy_s: float = 0.2) -> dict[str, object]:
    """The meter's identity, the cost of one reading and the energy of a fixed busy loop.

    ``busy_power_w`` is a sanity check: about ``watts_per_core`` for the thread estimator,
    the package power for RAPL, 0 for the fake meter (it never moves by itself).
    """
    cost_us = read_cost_us(meter, readings=readings)
    with window(meter) as busy:
        busy_loop(busy_s)
    measurement = busy.measurement
    assert measurement is not None
    return {
        "meter": type(meter).__name__,
        **meter.describe(),
        "update_interval_s": meter.update_interval_s,
        "read_cost_us": cost_us,
        "busy_energy_uj": measurement.energy_uj,
        "busy_duration_s": measurement.duration_s,
        "busy_power_w": measurement.energy_uj / 1e6 / measurement.duration_s if measurement.duration_s > 0 else 0.0,
    }
