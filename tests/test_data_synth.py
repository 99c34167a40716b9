"""The built-in stream: deterministic, flow-like, and drifting the way the drift loop can see.

The KL checks use a local helper with the published settings (1 200-value windows, 50 bins
over the common range of both windows, +1e-10 on the probabilities, threshold 0.75); the
real detector lives elsewhere. Both KL directions are checked wherever the direction is
not part of the property, so the stream does not depend on which way a detector computes it.
"""

from __future__ import annotations

import numpy as np
import pytest

from harmone.data import synth
from harmone.data.series import train_size
from harmone.errors import DataError

WINDOW = 1200
BINS = 50
EPSILON = 1e-10
THRESHOLD = 0.75
CHECK_EVERY = 20  # the drift loop runs every 3 s = 20 predictions at 0.15 s
COOLDOWN = 2667  # 400 s of predictions at 0.15 s
SEEDS = (0, 1, 2)
PROFILES = ("default", "alt", "pems")


def kl(p_values: np.ndarray, q_values: np.ndarray) -> float:
    """KL(P || Q) of histograms over the common bin edges of both samples."""
    lo = min(p_values.min(), q_values.min())
    hi = max(p_values.max(), q_values.max())
    edges = np.linspace(lo, hi, BINS + 1)
    p = np.histogram(p_values, edges)[0] / len(p_values) + EPSILON
    q = np.histogram(q_values, edges)[0] / len(q_values) + EPSILON
    p /= p.sum()
    q /= q.sum()
    return float(np.sum(p * np.log(p / q)))


def kl_both(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    return kl(a, b), kl(b, a)


@pytest.fixture(scope="module", params=[(p, s) for p in PROFILES for s in SEEDS],
                ids=lambda ps: f"{ps[0]}-seed{ps[1]}")
def stream(request: pytest.FixtureRequest) -> synth.SynthStream:
    profile, seed = request.param
    return synth.generate(seed=seed, profile=profile)


# --- shape of the stream -----------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_same_seed_gives_the_same_bytes_and_another_seed_differs(profile: str) -> None:
    a = synth.generate(seed=7, profile=profile)
    b = synth.generate(seed=7, profile=profile)
    c = synth.generate(seed=8, profile=profile)
    assert a.values.tobytes() == b.values.tobytes()
    assert a.regimes == b.regimes
    assert a.values.tobytes() != c.values.tobytes()


def test_profiles_differ() -> None:
    streams = [synth.generate(seed=0, profile=profile).values for profile in PROFILES]
    for i, a in enumerate(streams):
        for b in streams[i + 1:]:
            assert not np.allclose(a, b)


def test_profiles_lists_every_profile() -> None:
    assert synth.PROFILES == PROFILES


def test_default_length_and_train_share() -> None:
    stream = synth.generate()
    assert stream.values.shape == (synth.DEFAULT_STEPS,)
    assert stream.values.dtype == np.float64
    assert stream.train_steps == train_size(synth.DEFAULT_STEPS, 0.1) == 2880
    assert len(stream.train) + len(stream.test) == synth.DEFAULT_STEPS
    # ~26k predictions at 0.15 s: about an hour of simulated stream.
    assert 60 * 60 <= len(stream.test) * 0.15 <= 70 * 60


def test_never_negative_and_finite(stream: synth.SynthStream) -> None:
    assert np.all(np.isfinite(stream.values))
    assert stream.values.min() >= 0.0


def test_regimes_tile_the_series_and_the_training_part_is_the_first(stream: synth.SynthStream) -> None:
    regimes = stream.regimes
    assert regimes[0].start == 0 and regimes[-1].end == len(stream.values)
    for a, b in zip(regimes, regimes[1:]):
        assert a.end == b.start
    assert regimes[0].end > stream.train_steps  # the test part starts in the training regime
    assert regimes[-1].name == "return"
    assert all(r.description for r in regimes)
    assert all(r.start % synth.STEPS_PER_DAY == 0 for r in regimes)  # regimes start at midnight


def _mean_day(values: np.ndarray, days: list[int]) -> np.ndarray:
    return np.mean([values[d * 288:(d + 1) * 288] for d in days], axis=0)


def test_default_profile_has_commuter_peaks_and_quieter_weekends() -> None:
    stream = synth.generate(seed=0)
    baseline = stream.regimes[0]
    days = range(baseline.start // 288, baseline.end // 288)
    weekdays = [d for d in days if d % 7 < 5]
    weekends = [d for d in days if d % 7 >= 5]
    weekday = _mean_day(stream.values, weekdays)
    weekend = _mean_day(stream.values, weekends)
    hour = lambda h: slice(int(h * 12), int(h * 12) + 12)  # noqa: E731 - one hour of steps
    morning, noon, evening, night = (weekday[hour(h)].mean() for h in (7.5, 12, 17, 3))
    assert morning > noon * 1.1 and evening > noon * 1.1  # two peaks
    assert night < morning / 5  # quiet nights
    assert weekend[hour(7.5)].mean() < morning * 0.6  # no weekend rush hour
    assert weekend.sum() < weekday.sum()  # weekly seasonality


def test_alt_profile_has_one_midday_peak_and_a_weak_weekly_pattern() -> None:
    stream = synth.generate(seed=0, profile="alt")
    baseline = stream.regimes[0]
    days = range(baseline.start // 288, baseline.end // 288)
    weekday = _mean_day(stream.values, [d for d in days if d % 7 < 5])
    weekend = _mean_day(stream.values, [d for d in days if d % 7 >= 5])
    peak_hour = np.argmax(np.convolve(weekday, np.ones(12) / 12, mode="same")) / 12
    assert 12 <= peak_hour <= 15
    assert 0.8 < weekend.sum() / weekday.sum() < 1.0


def _weekday_daytime_mean(stream: synth.SynthStream, regime: synth.Regime) -> float:
    days = [d for d in range(regime.start // 288, regime.end // 288) if d % 7 < 5]
    return float(np.mean([stream.values[d * 288 + 9 * 12:d * 288 + 16 * 12] for d in days]))


def _linear_ar_r2(values: np.ndarray, lags: int = 5) -> float:
    """In-sample R² of the best affine predictor of each value from the ``lags`` before it."""
    X = np.column_stack([values[i:len(values) - lags + i] for i in range(lags)] + [np.ones(len(values) - lags)])
    y = values[lags:]
    residual = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    return float(1.0 - residual.var() / y.var())


def test_pems_profile_breaks_down_at_capacity_into_waves_a_linear_model_cannot_follow() -> None:
    default = synth.generate(seed=0)
    pems = synth.generate(seed=0, profile="pems")
    # Same demand; on the capped road the weekday daytime carries the congested flow, not the demand.
    assert _weekday_daytime_mean(default, default.regimes[0]) > 300
    assert 0.6 * 280 < _weekday_daytime_mean(pems, pems.regimes[0]) < 0.8 * 280
    # The level shift raises the capacity too, so the congested flow itself moves.
    assert _weekday_daytime_mean(pems, pems.regimes[1]) > 1.3 * _weekday_daytime_mean(pems, pems.regimes[0])
    # Free flow and stop-and-go waves need different predictors: one linear AR model fits badly.
    assert _linear_ar_r2(default.train) > 0.95
    assert _linear_ar_r2(pems.train) < 0.9


def test_incidents_make_short_daytime_dips() -> None:
    stream = synth.generate(seed=0)
    same_regime = [stream.regimes[0], stream.regimes[-1]]  # baseline and its return
    days = [d for r in same_regime for d in range(r.start // 288, r.end // 288) if d % 7 < 5]
    by_day = np.array([stream.values[d * 288:(d + 1) * 288] for d in days])
    ratio = by_day / np.maximum(np.median(by_day, axis=0), 1.0)
    daytime = ratio[:, 8 * 12:18 * 12]
    dips = daytime < 0.7
    assert np.sum(np.any(dips, axis=1)) >= 3  # some days have an incident...
    assert np.mean(dips) < 0.01  # ...but they are rare and short


@pytest.mark.parametrize("profile", PROFILES)
def test_too_few_steps_is_an_error_naming_the_minimum(profile: str) -> None:
    minimum = synth.min_steps(0.1, profile)
    with pytest.raises(DataError, match=f"need at least {minimum}"):
        synth.generate(minimum - 1, profile=profile)
    assert len(synth.generate(minimum, profile=profile).values) == minimum


def test_bad_arguments_are_errors() -> None:
    with pytest.raises(DataError, match="unknown stream profile 'rush'.*default, alt, pems"):
        synth.generate(profile="rush")
    with pytest.raises(DataError, match="train_ratio"):
        synth.generate(train_ratio=1.0)
    with pytest.raises(DataError, match="steps = 0"):
        synth.generate(0)


# --- what the drift loop sees ------------------------------------------------------------

def _stable_positions(regime: synth.Regime) -> range:
    """Ends of every pair of consecutive windows lying wholly inside the settled regime."""
    return range(regime.start + regime.ramp_steps + 2 * WINDOW, regime.end + 1, CHECK_EVERY)


def test_stable_regimes_raise_no_more_than_a_few_false_alarms(stream: synth.SynthStream) -> None:
    """Weekday/weekend mixes and incidents inside one regime must not look like drift."""
    values = stream.values
    kls = []
    for regime in stream.regimes:
        for t in _stable_positions(regime):
            kls.append(max(kl_both(values[t - 2 * WINDOW:t - WINDOW], values[t - WINDOW:t])))
    kls_arr = np.array(kls)
    assert len(kls_arr) > 600
    false_alarms = int(np.sum(kls_arr > THRESHOLD))
    assert false_alarms <= 3, f"{false_alarms} of {len(kls_arr)} stable window pairs exceed {THRESHOLD}"
    assert np.quantile(kls_arr, 0.95) < 0.5


def test_every_regime_change_is_drift_in_both_directions(stream: synth.SynthStream) -> None:
    values = stream.values
    for before, after in zip(stream.regimes, stream.regimes[1:]):
        settled = after.start + after.ramp_steps
        old = values[after.start - WINDOW:after.start]
        new = values[settled:settled + WINDOW]
        forward, backward = kl_both(old, new)
        assert min(forward, backward) > THRESHOLD, (before.name, after.name, forward, backward)
        # Consecutive windows sliding across the change also cross the threshold.
        crossing = [kl_both(values[t - 2 * WINDOW:t - WINDOW], values[t - WINDOW:t])
                    for t in range(after.start, settled + 2 * WINDOW, CHECK_EVERY)]
        assert max(k[0] for k in crossing) > THRESHOLD
        assert max(k[1] for k in crossing) > THRESHOLD


@pytest.mark.parametrize("snapshot_share", [0.8, 1.0])
def test_after_the_return_only_the_training_data_matches(stream: synth.SynthStream,
                                                         snapshot_share: float) -> None:
    """The version trained on the training split is the one to reuse at the end."""
    values = stream.values
    snapshot = stream.train[: int(len(stream.train) * snapshot_share)]
    ret = stream.regimes[-1]
    for t in (ret.start + WINDOW, ret.start + 3 * WINDOW, ret.end):
        recent = values[t - WINDOW:t]
        assert max(kl_both(snapshot, recent)) < THRESHOLD
        for other in stream.regimes[1:-1]:
            settled = other.start + other.ramp_steps
            for data in (values[settled:settled + WINDOW], values[other.end - WINDOW:other.end]):
                assert min(kl_both(data, recent)) > THRESHOLD, other.name


def _run_drift_loop(stream: synth.SynthStream, *, snapshot_first: bool = True) -> list[tuple[int, str, int]]:
    """The published drift loop over the test part: (index into series, action, version).

    Detection is KL(previous window || last window), as in the original tool. Reuse picks
    the stored version with the lowest KL between its snapshot and the drift data, if below
    the threshold; ``snapshot_first`` chooses KL(snapshot || drift data) (as the design
    states it) or KL(drift data || snapshot) (as the original computed it). Version 0 is
    the first training (the training split minus its 20 % hold-out).
    """
    test = stream.test
    snapshots = [stream.train[: int(len(stream.train) * 0.8)]]
    events = []
    t = COOLDOWN  # the 400 s warm-up
    while t <= len(test):
        if t >= 2 * WINDOW:
            previous, recent = test[t - 2 * WINDOW:t - WINDOW], test[t - WINDOW:t]
            if kl(previous, recent) > THRESHOLD:
                scores = [min(kl(s, recent) if snapshot_first else kl(recent, s), 10.0) for s in snapshots]
                best = int(np.argmin(scores))
                if len(snapshots) > 1 and scores[best] < THRESHOLD:
                    events.append((stream.train_steps + t, "reuse", best))
                else:
                    snapshots.append(recent.copy())
                    events.append((stream.train_steps + t, "retrain", len(snapshots) - 1))
                t += COOLDOWN
                continue
        t += CHECK_EVERY
    return events


@pytest.mark.parametrize("snapshot_first", [True, False], ids=["kl-snapshot-drift", "kl-drift-snapshot"])
def test_published_drift_loop_retrains_on_each_change_and_reuses_the_first_version_at_the_return(
        stream: synth.SynthStream, snapshot_first: bool) -> None:
    events = _run_drift_loop(stream, snapshot_first=snapshot_first)
    changes = stream.regimes[1:]
    assert len(events) == len(changes), events
    for (index, _, _), regime in zip(events, changes):
        # Flagged once the last window is mostly the new regime, and before it is all of it.
        assert regime.start + regime.ramp_steps // 2 + WINDOW // 3 < index
        assert index <= regime.start + regime.ramp_steps + 2 * WINDOW
    assert [action for _, action, _ in events] == ["retrain", "retrain", "reuse"], events
    assert events[-1][2] == 0  # the version trained on the training split


@pytest.mark.parametrize("profile", PROFILES)
def test_drift_loop_sees_the_same_story_at_the_minimum_and_a_longer_length(profile: str) -> None:
    for steps in (synth.min_steps(0.1, profile), 40_000):
        events = _run_drift_loop(synth.generate(steps, seed=5, profile=profile))
        assert [(action, version) for _, action, version in events][-1] == ("reuse", 0), events
        assert len(events) == 3, events
