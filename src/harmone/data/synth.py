"""The built-in stream: PeMS-like traffic flow with documented drift regimes.

One value per 5 minutes (288 per day), in vehicles per 5 minutes. The series starts on a
Monday at midnight. The training share (the first ``train_ratio`` of the series) is always
the first regime; the rest holds drift regimes the managing system has to handle: changes
it should detect, and a late return to the training regime so that reusing the first model
version pays off.

Regimes are long enough for the published drift loop (two 1 200-value windows compared,
then 400 s = ~2 667 predictions of cooldown) and distinct enough in *value distribution*
(the loop compares histograms, so moving a peak in time without changing the values it
takes would be invisible). docs/data.md lists the regimes of every profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harmone.data.series import train_size
from harmone.errors import DataError

STEPS_PER_DAY = 288
DAYS_PER_WEEK = 7
#: 100 days; its test part (90 %) replays in ~65 simulated minutes at 0.15 s per prediction.
DEFAULT_STEPS = 100 * STEPS_PER_DAY
#: Longest stream the generator makes: ten million values (80 MB of float64), about 95 years
#: at the 5-minute cadence.
MAX_STEPS = 10_000_000
#: Every drift regime must give the drift loop two full 1 200-value windows on each side of
#: its change plus the 2 667-prediction cooldown, with margin: about 17 days.
MIN_REGIME_STEPS = 17 * STEPS_PER_DAY
#: The test part must begin with a stretch of the training regime long enough for two
#: drift windows, so the first comparison sees clean training-regime data.
MIN_LEAD_STEPS = 9 * STEPS_PER_DAY
#: The training part must hold at least two whole days of the daily cycle.
MIN_TRAIN_STEPS = 2 * STEPS_PER_DAY
PROFILES = ("default", "alt", "pems")


@dataclass(frozen=True)
class Regime:
    """A stretch ``[start, end)`` of a stream with one behaviour.

    For the series profiles here, indices of the whole series (train part included); for
    the image stream (``harmone.data.digits``), indices of its test stream.
    """

    start: int
    end: int
    name: str
    description: str
    #: The first ``ramp_steps`` values blend gradually from the previous regime into this one.
    ramp_steps: int = 0


@dataclass(frozen=True, eq=False)
class SynthStream:
    """A generated series (train part first) and the regimes it is made of, in order."""

    values: np.ndarray
    regimes: list[Regime]
    train_steps: int

    @property
    def train(self) -> np.ndarray:
        return self.values[: self.train_steps]

    @property
    def test(self) -> np.ndarray:
        return self.values[self.train_steps:]


@dataclass(frozen=True)
class _Bump:
    """One hump of the daily profile: a periodic super-Gaussian in hours of the day."""

    hour: float
    width_h: float
    height: float
    power: float = 2.0

    def __call__(self, hours: np.ndarray) -> np.ndarray:
        delta = np.abs((hours - self.hour + 12.0) % 24.0 - 12.0)
        return self.height * np.exp(-0.5 * (delta / self.width_h) ** self.power)


@dataclass(frozen=True)
class _Day:
    """A daily profile: a night floor plus humps, in vehicles per 5 minutes."""

    floor: float
    bumps: tuple[_Bump, ...]

    def __call__(self, hours: np.ndarray) -> np.ndarray:
        out = np.full_like(hours, self.floor)
        for bump in self.bumps:
            out += bump(hours)
        return out


@dataclass(frozen=True)
class _Behaviour:
    """How traffic looks during one regime."""

    weekday: _Day
    weekend: _Day
    scale: float = 1.0
    offset: float = 0.0
    #: Noise standard deviation: ``noise_rel * level + noise_sqrt * sqrt(level)``.
    noise_rel: float = 0.03
    noise_sqrt: float = 1.0
    #: Road capacity in veh/5 min; 0 = none (demand always flows freely).
    capacity: float = 0.0


@dataclass(frozen=True)
class _Phase:
    """One regime of a profile's schedule; ``until`` is a share of the test part."""

    name: str
    description: str
    behaviour: _Behaviour
    until: float
    #: Days over which the change from the previous phase is blended in (0 = abrupt).
    ramp_days: float = 0.0


@dataclass(frozen=True)
class _Profile:
    phases: tuple[_Phase, ...]
    #: Day-to-day volume variation (standard deviation of a per-day factor around 1).
    day_sd: float = 0.02
    #: Incidents per day, their length in steps and the share of flow that remains.
    incidents_per_day: float = 0.3
    incident_steps: tuple[int, int] = (6, 19)
    incident_keep: tuple[float, float] = (0.35, 0.7)
    #: Congestion, where a regime has a capacity: flow breaks down to ``congested_keep`` x
    #: capacity, and stop-and-go waves of relative amplitude ``wave_amplitude`` and a period
    #: of ``wave_steps`` pass the detector.
    congested_keep: float = 0.7
    wave_amplitude: float = 0.3
    wave_steps: float = 4.0


# --- default profile: a commuter freeway --------------------------------------------------

_COMMUTE = _Day(25.0, (
    _Bump(7.75, 1.1, 300.0),
    _Bump(12.5, 3.6, 280.0, power=4.0),
    _Bump(17.25, 1.3, 330.0),
))
_WEEKEND = _Day(30.0, (
    _Bump(13.5, 3.4, 330.0, power=3.0),
    _Bump(19.0, 1.8, 40.0),
))
#: A holiday period: no rush hours, a low flat daytime plateau and busier nights. Its
#: values sit where the baseline only passes through (between its night and its midday),
#: so the histogram, not just the timing, changes.
_HOLIDAY = _Day(75.0, (
    _Bump(13.5, 5.6, 145.0, power=6.0),
    _Bump(10.0, 1.0, 15.0),
))
_HOLIDAY_WEEKEND = _Day(75.0, (
    _Bump(14.0, 4.8, 120.0, power=5.0),
))

_BASE = _Behaviour(_COMMUTE, _WEEKEND)

_DEFAULT = _Profile(phases=(
    _Phase("baseline", "commuter traffic with morning and evening peaks; the regime of the training data",
           _BASE, 0.17),
    _Phase("level-shift", "a detour routes extra traffic onto the road, day and night: "
                          "all flow x1.3 plus 100 veh/5 min",
           _Behaviour(_COMMUTE, _WEEKEND, scale=1.3, offset=100.0), 0.42),
    _Phase("shape-change", "holiday period: the rush-hour peaks vanish, daytime flattens to a plateau "
                           "of ~220 and nights rise to ~75",
           _Behaviour(_HOLIDAY, _HOLIDAY_WEEKEND), 0.67),
    _Phase("return", "back to the baseline regime of the training data", _BASE, 1.0),
))

# --- alt profile: an arterial road with one broad midday peak ---------------------------

_ARTERIAL = _Day(20.0, (
    _Bump(13.5, 3.3, 330.0, power=2.5),
))
_ARTERIAL_WEEKEND = _Day(22.0, (
    _Bump(14.0, 3.6, 270.0, power=2.5),
))
_ALT_BASE = _Behaviour(_ARTERIAL, _ARTERIAL_WEEKEND)

_ALT = _Profile(phases=(
    _Phase("baseline", "one broad midday peak, weekends a little lower and later; "
                       "the regime of the training data",
           _ALT_BASE, 0.17),
    _Phase("ramp", "a new development opens: over 5 days flow grows to x1.5 plus 50 veh/5 min",
           _Behaviour(_ARTERIAL, _ARTERIAL_WEEKEND, scale=1.5, offset=50.0), 0.42, ramp_days=5.0),
    _Phase("variance", "work zone: erratic stop-and-go flow (noise 15 % of flow instead of 3 %) "
                       "while the daily swing shrinks to a quarter around a floor of ~175",
           _Behaviour(_ARTERIAL, _ARTERIAL_WEEKEND, scale=0.25, offset=170.0, noise_rel=0.15), 0.67),
    _Phase("return", "back to the baseline regime of the training data", _ALT_BASE, 1.0),
), incidents_per_day=0.2)

# --- pems profile: the commuter freeway at its capacity -----------------------------------

#: 280 veh/5 min is 3 360 veh/h, two freeway lanes. The weekday peaks and the weekend
#: midday (demand 330 to 360) break down; nights, shoulders and the holiday flow freely.
_PEMS_CAPACITY = 280.0
_PEMS_BASE = _Behaviour(_COMMUTE, _WEEKEND, capacity=_PEMS_CAPACITY)

_PEMS = _Profile(phases=(
    _Phase("baseline", "commuter traffic whose weekday peaks exceed the road's capacity of 280: flow "
                       "breaks down to ~196 with stop-and-go waves; the regime of the training data",
           _PEMS_BASE, 0.17),
    _Phase("level-shift", "a detour routes extra traffic onto the road (all demand x1.3 plus 100) and "
                          "the hard shoulder opens as a third lane: capacity 420",
           _Behaviour(_COMMUTE, _WEEKEND, scale=1.3, offset=100.0, capacity=1.5 * _PEMS_CAPACITY), 0.42),
    _Phase("shape-change", "holiday period: demand stays below capacity, so no rush hours and no "
                           "congestion; daytime flattens to a plateau of ~220 and nights rise to ~75",
           _Behaviour(_HOLIDAY, _HOLIDAY_WEEKEND, capacity=_PEMS_CAPACITY), 0.67),
    _Phase("return", "back to the baseline regime of the training data", _PEMS_BASE, 1.0),
))

_PROFILES: dict[str, _Profile] = {"default": _DEFAULT, "alt": _ALT, "pems": _PEMS}


def _boundaries(profile: _Profile, steps: int, train_steps: int) -> list[int]:
    """Regime starts rounded to whole days, so each regime begins at midnight."""
    test_steps = steps - train_steps
    starts = [0]
    for phase in profile.phases[:-1]:
        raw = train_steps + phase.until * test_steps
        starts.append(int(round(raw / STEPS_PER_DAY)) * STEPS_PER_DAY)
    starts.append(steps)
    return starts


def min_steps(train_ratio: float = 0.1, profile: str = "default") -> int:
    """The shortest series whose regimes all fit the drift loop's needs."""
    prof = _profile(profile)
    steps = 2 * STEPS_PER_DAY
    while not _fits(prof, steps, train_ratio):
        steps += STEPS_PER_DAY
        if steps > 10**8:
            raise DataError(f"train_ratio {train_ratio} leaves no room for the drift regimes")
    # Day-sized steps overshoot; walk back to the exact first length that fits.
    while _fits(prof, steps - 1, train_ratio):
        steps -= 1
    return steps


def _fits(profile: _Profile, steps: int, train_ratio: float) -> bool:
    train_steps = train_size(steps, train_ratio)
    starts = _boundaries(profile, steps, train_steps)
    if starts[1] - train_steps < MIN_LEAD_STEPS or train_steps < MIN_TRAIN_STEPS:
        return False
    return all(end - start >= MIN_REGIME_STEPS for start, end in zip(starts[1:-1], starts[2:]))


def _profile(name: str) -> _Profile:
    try:
        return _PROFILES[name]
    except KeyError:
        raise DataError(f"unknown stream profile {name!r} (known: {', '.join(PROFILES)})") from None


def _clean(behaviour: _Behaviour, hours: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    level = np.where(weekend, behaviour.weekend(hours), behaviour.weekday(hours))
    return level * behaviour.scale + behaviour.offset


def generate(steps: int = DEFAULT_STEPS, seed: int = 0, *, train_ratio: float = 0.1,
             profile: str = "default") -> SynthStream:
    """A deterministic stream for ``seed``: same arguments, same values, bit for bit."""
    if not 0 < steps <= MAX_STEPS:
        raise DataError(f"steps = {steps} must be from 1 to {MAX_STEPS}")
    prof = _profile(profile)
    if not 0.0 < train_ratio < 1.0:
        raise DataError(f"train_ratio must be between 0 and 1 (exclusive), got {train_ratio}")
    if steps < 1 or not _fits(prof, steps, train_ratio):
        need = min_steps(train_ratio, profile)
        raise DataError(f"steps = {steps} is too small for the {profile!r} stream's drift regimes "
                        f"with train_ratio {train_ratio}: need at least {need}")
    rng = np.random.default_rng(seed)
    train_steps = train_size(steps, train_ratio)
    starts = _boundaries(prof, steps, train_steps)

    t = np.arange(steps)
    hours = (t % STEPS_PER_DAY) / (STEPS_PER_DAY / 24.0)
    day = t // STEPS_PER_DAY
    weekend = day % DAYS_PER_WEEK >= 5

    level = np.empty(steps)
    noise_sd = np.empty(steps)
    capacity = np.empty(steps)
    regimes: list[Regime] = []
    previous: _Behaviour | None = None
    for phase, start, end in zip(prof.phases, starts[:-1], starts[1:]):
        span = slice(start, end)
        b = phase.behaviour
        lvl = _clean(b, hours[span], weekend[span])
        sd = b.noise_rel * lvl + b.noise_sqrt * np.sqrt(lvl)
        cap = np.full(end - start, b.capacity if b.capacity > 0 else np.inf)
        if previous is not None and phase.ramp_days > 0:
            ramp = np.clip((t[span] - start) / (phase.ramp_days * STEPS_PER_DAY), 0.0, 1.0)
            old = _clean(previous, hours[span], weekend[span])
            old_sd = previous.noise_rel * old + previous.noise_sqrt * np.sqrt(old)
            lvl = (1 - ramp) * old + ramp * lvl
            sd = (1 - ramp) * old_sd + ramp * sd
            if b.capacity > 0 and previous.capacity > 0:  # a road without a capacity cannot blend
                cap = (1 - ramp) * previous.capacity + ramp * cap
        level[span] = lvl
        noise_sd[span] = sd
        capacity[span] = cap
        ramp_steps = int(round(phase.ramp_days * STEPS_PER_DAY)) if previous is not None else 0
        regimes.append(Regime(start, end, phase.name, phase.description, ramp_steps))
        previous = b

    n_days = int(day[-1]) + 1
    day_factor = 1.0 + prof.day_sd * rng.standard_normal(n_days)
    level *= day_factor[day]
    if np.isfinite(capacity).any():
        # Noise stays scaled to the demand: congested flow is more erratic than free flow
        # of the same volume.
        level = _congestion(rng, prof, level, capacity)
    level *= _incidents(rng, prof, steps, hours)
    values = level + noise_sd * rng.standard_normal(steps)
    np.maximum(values, 0.0, out=values)
    return SynthStream(values=values, regimes=regimes, train_steps=train_steps)


def _incidents(rng: np.random.Generator, prof: _Profile, steps: int, hours: np.ndarray) -> np.ndarray:
    """Multiplicative dips: a sudden drop, then a linear recovery; only in daytime."""
    factor = np.ones(steps)
    n = rng.poisson(prof.incidents_per_day * steps / STEPS_PER_DAY)
    starts = rng.integers(0, steps, size=n)
    lengths = rng.integers(prof.incident_steps[0], prof.incident_steps[1], size=n)
    keeps = rng.uniform(*prof.incident_keep, size=n)
    for start, length, keep in zip(starts, lengths, keeps):
        if not 6.0 <= hours[start] <= 20.0:
            continue
        end = min(steps, start + length)
        recovery = np.linspace(keep, 1.0, end - start, endpoint=False)
        factor[start:end] = np.minimum(factor[start:end], recovery)
    return factor


def _congestion(rng: np.random.Generator, prof: _Profile, demand: np.ndarray,
                capacity: np.ndarray) -> np.ndarray:
    """Capacity drop with hysteresis: flow above capacity breaks down into stop-and-go waves.

    Once demand exceeds capacity the road carries only ``congested_keep`` x capacity, with
    waves passing the detector, until demand falls below that congested flow again. Whether
    the road is congested shows in the last few values (smooth or oscillating), so a
    nonlinear model can tell the two dynamics apart; a linear AR model has to average them.
    """
    flow = demand.copy()
    congested = False
    phase = 0.0
    age = 0
    for i, d in enumerate(demand):
        congested_flow = prof.congested_keep * capacity[i]
        if not congested and d > capacity[i]:
            congested, age, phase = True, 0, rng.uniform(0.0, 2.0 * np.pi)
        elif congested and d < congested_flow:
            congested = False
        if congested:
            age += 1
            wave = np.sin(2.0 * np.pi * age / prof.wave_steps + phase)
            flow[i] = congested_flow * (1.0 + prof.wave_amplitude * wave)
    return flow
