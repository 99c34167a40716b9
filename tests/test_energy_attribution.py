"""Energy per prediction: busy stretches are charged, idle time is not, coarse counters average out."""

from __future__ import annotations

import math
import random

import pytest

from harmone.energy import EnergyAttributor, EnergyMeter, FakeMeter


def test_only_busy_stretches_are_charged() -> None:
    meter = FakeMeter()
    attributor = EnergyAttributor(meter)
    meter.advance(100.0)   # step 1
    attributor.pause()
    meter.advance(5_000.0)  # sleeping until the next stream value: not the model's energy
    attributor.resume()
    meter.advance(40.0)    # step 2
    attributor.pause()
    meter.advance(5_000.0)
    assert attributor.take() == 140.0
    assert attributor.take() == 0.0  # take resets


def test_take_while_busy_keeps_counting_from_there() -> None:
    meter = FakeMeter()
    attributor = EnergyAttributor(meter)
    meter.advance(30.0)
    assert attributor.take() == 30.0
    assert attributor.busy
    meter.advance(12.0)
    assert attributor.take() == 12.0


def test_repeated_resume_or_pause_does_not_double_count() -> None:
    meter = FakeMeter()
    attributor = EnergyAttributor(meter, busy=False)
    meter.advance(1_000.0)  # idle from the start
    attributor.resume()
    meter.advance(10.0)
    attributor.resume()     # already busy: must not restart the stretch
    meter.advance(10.0)
    attributor.pause()
    attributor.pause()      # already idle
    meter.advance(1_000.0)
    assert attributor.pending_uj == 20.0
    assert attributor.take() == 20.0


def test_a_batch_is_split_equally_among_its_predictions() -> None:
    meter = FakeMeter()
    attributor = EnergyAttributor(meter)
    costs_uj = [10.0, 30.0, 20.0, 40.0]
    for cost_uj in costs_uj:
        attributor.resume()
        meter.advance(cost_uj)
        attributor.pause()
        meter.advance(999.0)
    per_prediction_uj = attributor.take() / len(costs_uj)
    assert per_prediction_uj == 25.0


class SteppedCounter(EnergyMeter):
    """A RAPL-like counter: constant power, but the reading moves only every ``period_s``."""

    kind = "measured"
    source = "stepped"
    resolution_uj = 0.0

    def __init__(self, power_w: float, period_s: float) -> None:
        self.power_w = power_w
        self.update_interval_s = period_s
        self.now_s = 0.0

    def read_uj(self) -> float:
        steps = math.floor(self.now_s / self.update_interval_s)
        return steps * self.update_interval_s * self.power_w * 1e6


def test_short_stretches_on_a_coarse_counter_are_unbiased_in_sum() -> None:
    # 20 000 predictions of 100 µs each, at random phases against a 1 ms counter,
    # with idle gaps between them. Per stretch the reading is 0 or a whole step.
    rng = random.Random(7)
    meter = SteppedCounter(power_w=20.0, period_s=1e-3)
    attributor = EnergyAttributor(meter, busy=False)
    busy_s, stretches, zero_readings = 100e-6, 20_000, 0
    total_uj = 0.0
    for _ in range(stretches):
        meter.now_s += rng.uniform(0.0, 0.01)  # idle gap
        attributor.resume()
        meter.now_s += busy_s
        attributor.pause()
        energy_uj = attributor.take()
        zero_readings += energy_uj == 0.0
        total_uj += energy_uj
    true_uj = stretches * busy_s * 20.0 * 1e6
    assert zero_readings > 0.8 * stretches       # one by one: mostly zeros
    assert total_uj == pytest.approx(true_uj, rel=0.08)  # summed: right on average
    idle_uj = meter.read_uj() - true_uj
    assert idle_uj > 10 * total_uj               # and the idle energy was left out


class CountingMeter(FakeMeter):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def read_uj(self) -> float:
        self.reads += 1
        return super().read_uj()


def test_work_between_stretches_is_never_charged_even_by_a_thread_estimate() -> None:
    # The thread that predicts may do other work between steps (a progress display, the
    # managing loops of an in-process run): a paused attributor must leave it out.
    meter = CountingMeter()
    attributor = EnergyAttributor(meter)
    for _ in range(64):
        meter.advance(5.0)       # the step
        attributor.pause()
        meter.advance(1000.0)    # other work of the same thread
        attributor.resume()
    assert attributor.take() == 64 * 5.0
    assert meter.reads == 1 + 64 * 2 + 1

