"""One check suite that every registered drift detector passes, plus the published detector's own rules.

The stated figures (false alarms, delays) are the ones docs/detectors.md quotes for the
default settings, on seeded streams of unit-variance Gaussian noise.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from harmone import detectors
from harmone.detectors import DetectorError, DriftDetector
from harmone.detectors.window_kl import WindowKL, kl_divergence
from harmone.errors import HarmonEError
from harmone.testing import ACROSS_MACHINES_REL

NAMES = detectors.names()
#: Detectors of the series itself; the error-stream ones (DDM, EDDM) have their own suite (test_ddm_eddm.py).
SERIES_NAMES = [n for n in NAMES if not detectors.detector_class(n).reads_errors]
#: Stated bound: false alarms per 10 000 values of stationary noise, every detector.
MAX_FALSE_ALARMS_PER_10K = 1.0
#: Stated worst delay (values after the change) to detect a 2-sigma level shift, per detector.
MAX_DELAY_2_SIGMA = {"adwin": 100, "cusum": 30, "page-hinkley": 40, "window-kl": 1100}
#: Values before a change: enough for every detector to be ready (window-kl needs 2 x 1 200).
BEFORE = 2500
AFTER = 1500


def noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, n)


def level_shift(sigmas: float, seed: int = 7) -> np.ndarray:
    values = noise(BEFORE + AFTER, seed)
    values[BEFORE:] += sigmas
    return values


def trace(detector: DriftDetector, values: np.ndarray) -> list[tuple[bool, float | None]]:
    """(flag, score) after every value, as a caller reading both after each update sees them."""
    return [(detector.update(value).drift_detected, detector.score) for value in values]


def detections(detector: DriftDetector, values: np.ndarray) -> list[int]:
    """Indices where the flag rises: an alarm, counted once however long the flag stays up."""
    points, previous = [], False
    for i, (flag, _) in enumerate(trace(detector, values)):
        if flag and not previous:
            points.append(i)
        previous = flag
    return points


def test_every_module_registers_its_detector() -> None:
    assert {"adwin", "cusum", "page-hinkley", "window-kl"} <= set(NAMES)
    assert set(MAX_DELAY_2_SIGMA) == set(SERIES_NAMES), "state a delay for every detector of the series"
    for name in NAMES:
        cls = detectors.detector_class(name)
        assert cls.name == name and isinstance(detectors.make(name), cls)


def valid_settings(name: str, params: dict[str, float]) -> bool:
    """Whether ``params`` are valid settings of detector ``name``."""
    try:
        detectors.check_settings(name, params)
    except DetectorError:
        return False
    return True


# -- the shared check suite --------------------------------------------------------------

@pytest.mark.parametrize("name", SERIES_NAMES)
def test_quiet_on_stationary_noise(name: str) -> None:
    values = noise(30_000, seed=11)
    alarms = detections(detectors.make(name), values)
    assert len(alarms) / len(values) * 10_000 <= MAX_FALSE_ALARMS_PER_10K, alarms


@pytest.mark.parametrize("name", SERIES_NAMES)
def test_fires_on_a_two_sigma_level_shift_within_the_stated_delay(name: str) -> None:
    for seed in (7, 8):
        alarms = detections(detectors.make(name), level_shift(2.0, seed))
        assert not [a for a in alarms if a < BEFORE], f"false alarm before the change: {alarms}"
        assert alarms and alarms[0] - BEFORE <= MAX_DELAY_2_SIGMA[name], alarms


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name: str) -> None:
    values = level_shift(2.0)
    assert trace(detectors.make(name), values) == trace(detectors.make(name), values)


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trips_mid_stream(name: str) -> None:
    values = level_shift(2.0)
    for cut in (50, BEFORE - 7, BEFORE + 10):
        original = detectors.make(name)
        trace(original, values[:cut])
        state = json.loads(json.dumps(original.get_state(), allow_nan=False))
        restarted = detectors.make(name).set_state(state)
        assert restarted.n_seen == original.n_seen == cut
        assert (restarted.drift_detected, restarted.score) == (original.drift_detected, original.score)
        assert trace(restarted, values[cut:]) == trace(original, values[cut:])


@pytest.mark.parametrize("name", NAMES)
def test_malformed_state_is_refused_naming_the_key(name: str) -> None:
    detector = detectors.make(name)
    trace(detector, level_shift(2.0)[:300])
    state = detector.get_state()
    for key in state:
        broken = {k: v for k, v in state.items() if k != key}
        with pytest.raises(ValueError, match=repr(key)):
            detectors.make(name).set_state(broken)
    key, value = next((k, v) for k, v in sorted(detector.params.items()) if valid_settings(name, {k: v * 2}))
    with pytest.raises(ValueError, match="'params'"):
        detectors.make(name, {key: value * 2}).set_state(state)


@pytest.mark.parametrize("name", NAMES)
def test_reset_and_clone_start_afresh_with_the_same_settings(name: str) -> None:
    cls = detectors.detector_class(name)
    key = sorted(cls.default_params)[0]
    detector = detectors.make(name, {key: cls.default_params[key]})
    values = level_shift(3.0)
    first = trace(detector, values)
    clone = detector.clone()
    assert clone.params == detector.params and clone.n_seen == 0 and not clone.ready
    assert detector.reset() is detector
    assert detector.get_state() == detectors.make(name).get_state()
    assert (detector.n_seen, detector.score, detector.drift_detected) == (0, None, False)
    assert trace(detector, values) == first == trace(clone, values)


@pytest.mark.parametrize("name", NAMES)
def test_bad_settings_are_refused_with_one_line(name: str) -> None:
    cls = detectors.detector_class(name)
    for key in cls.default_params:
        for bad in (-1, "high", math.nan, True):
            with pytest.raises(ValueError, match=key) as caught:
                detectors.make(name, {key: bad})
            assert "\n" not in str(caught.value) and isinstance(caught.value, HarmonEError)
    with pytest.raises(ValueError, match=r"unknown key 'colour' \(known: "):
        detectors.make(name, {"colour": 1})


def test_an_unknown_detector_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown detector 'magic' \(known: adwin, "):
        detectors.make("magic")


@pytest.mark.parametrize("name", NAMES)
def test_non_finite_values_are_ignored(name: str) -> None:
    values = level_shift(2.0)
    holed = np.insert(values, np.arange(0, values.size, 97), [math.nan, math.inf, -math.inf] * 14)
    clean, dirty = detectors.make(name), detectors.make(name)
    expected = trace(clean, values)
    got = [step for value, step in zip(holed, trace(dirty, holed)) if math.isfinite(value)]
    assert got == expected and dirty.n_seen == clean.n_seen == values.size


@pytest.mark.parametrize("name", NAMES)
def test_update_many_equals_updates_in_order(name: str) -> None:
    values = level_shift(2.0)
    values[::53] = math.nan
    one, many = detectors.make(name), detectors.make(name)
    assert many.update_many(values[:5]) is many
    one.update_many(iter(values[:5].tolist()))
    for start in range(5, values.size, 20):
        batch = values[start:start + 20]
        for value in batch:
            one.update(value)
        many.update_many(batch)
        assert (many.score, many.drift_detected, many.n_seen) == (one.score, one.drift_detected, one.n_seen)


@pytest.mark.parametrize("name", [n for n in NAMES if detectors.detector_class(n).scale_free])
def test_scale_free_detectors_find_the_same_changes_in_any_unit(name: str) -> None:
    values = np.concatenate([level_shift(2.0), level_shift(-3.0, seed=9), noise(2000, 10) * 3])
    assert detections(detectors.make(name), values) == detections(detectors.make(name), values * 1000 + 1e4)


@pytest.mark.parametrize("name", [n for n in SERIES_NAMES if n != "window-kl"])
def test_restarting_detectors_detect_the_next_change_too(name: str) -> None:
    values = np.concatenate([level_shift(2.0), noise(AFTER, 12) + 5.0])
    alarms = detections(detectors.make(name), values)
    assert any(BEFORE <= a <= BEFORE + MAX_DELAY_2_SIGMA[name] for a in alarms), alarms
    second = BEFORE + AFTER
    assert any(second <= a <= second + MAX_DELAY_2_SIGMA[name] for a in alarms), alarms


@pytest.mark.parametrize("name", SERIES_NAMES)
@pytest.mark.parametrize("level", [0.0, 250.0])
def test_a_constant_series_is_quiet_and_a_step_after_it_detected(name: str, level: float) -> None:
    values = np.full(BEFORE + AFTER, level)
    values[BEFORE:] += 1.0
    detector = detectors.make(name)
    alarms = detections(detector, values)
    assert alarms and BEFORE <= alarms[0] <= BEFORE + MAX_DELAY_2_SIGMA[name], alarms
    json.dumps(detector.get_state(), allow_nan=False)


# -- the published detector ------------------------------------------------------------

WINDOW = 200
#: level_shift(2.0) with the defaults: the flag rises 827 values after the change and stays up.
PINNED_RISE = 3327
PINNED_FLAGGED = 673
PINNED_LAST_SCORE = 3.46192414026291


def reference_kl(p: np.ndarray, q: np.ndarray, bins: int, epsilon: float = 1e-10) -> float:
    """KL(P || Q) written the plain way: np.histogram over the shared range of both samples."""
    p, q = p[np.isfinite(p)], q[np.isfinite(q)]
    both = np.concatenate([p, q])
    if both.max() <= both.min():
        return 0.0
    edges = np.linspace(both.min(), both.max(), bins + 1)
    hp = np.histogram(p, edges)[0] / p.size + epsilon
    hq = np.histogram(q, edges)[0] / q.size + epsilon
    hp, hq = hp / hp.sum(), hq / hq.sum()
    return max(0.0, float(np.sum(hp * np.log(hp / hq))))


def test_window_kl_scores_the_two_windows_and_flags_above_the_threshold() -> None:
    values = np.concatenate([noise(700, 1) * 10 + 200, noise(600, 2) * 14 + 230, noise(300, 3) + 200])
    values[::41] = math.nan
    detector = WindowKL(window=WINDOW)
    flagged = 0
    for start in range(0, values.size, 20):
        detector.update_many(values[start:start + 20])
        seen = values[:start + 20]
        seen = seen[np.isfinite(seen)]
        assert detector.ready == (seen.size >= 2 * WINDOW)
        if not detector.ready:
            assert detector.score is None and not detector.drift_detected
            continue
        expected = reference_kl(seen[-2 * WINDOW:-WINDOW], seen[-WINDOW:], bins=50)
        assert detector.score == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert detector.drift_detected == (detector.score > 0.75)
        assert np.array_equal(detector.values()[-WINDOW:], seen[-WINDOW:])
        flagged += detector.drift_detected
    assert flagged > 0


def test_kl_divergence_matches_the_plain_histogram_form() -> None:
    rng = np.random.default_rng(3)
    for n, m, shift, bins in ((1200, 1200, 0.0, 50), (1200, 1500, 0.7, 50), (37, 500, 3.0, 7), (5, 5, 0.0, 1)):
        p, q = rng.normal(0, 1, n), rng.normal(shift, 2, m)
        p[::11] = math.nan
        for a, b in ((p, q), (q, p)):
            assert kl_divergence(a, b, bins=bins, epsilon=1e-10) == pytest.approx(
                reference_kl(a, b, bins), rel=1e-9, abs=1e-12)
    assert kl_divergence([4.0, 4.0], [4.0], bins=50, epsilon=1e-10) == 0.0
    with pytest.raises(DetectorError, match="finite"):
        kl_divergence([math.nan], [1.0], bins=50, epsilon=1e-10)


def test_feed_counts_a_detection_that_cleared_inside_the_batch() -> None:
    values = level_shift(3.0)
    for name in NAMES:
        flags = [flag for flag, _ in trace(detectors.make(name), values)]
        batched = detectors.make(name)
        fired = [start for start in range(0, values.size, 20) if batched.feed(values[start:start + 20])]
        if name == "window-kl":
            # Its verdict is on the windows as they stand when the batch ends.
            expected = [start for start in range(0, values.size, 20) if flags[min(start + 19, values.size - 1)]]
        else:
            # A flag raised anywhere in the batch counts, even when a restart cleared it.
            expected = [start for start in range(0, values.size, 20) if any(flags[start:start + 20])]
        assert fired == expected and fired, name


def test_window_kl_detects_a_seeded_shift_at_pinned_points() -> None:
    values = level_shift(2.0)
    detector = WindowKL()
    flags = [detector.update(value).drift_detected for value in values]
    assert detections(WindowKL(), values) == [PINNED_RISE]
    assert flags.index(True) == PINNED_RISE and sum(flags) == PINNED_FLAGGED
    assert detector.score == pytest.approx(PINNED_LAST_SCORE, rel=ACROSS_MACHINES_REL)  # pinned on another processor


def test_window_kl_is_ready_after_two_windows_and_zero_on_constant_data() -> None:
    detector = WindowKL(window=3)
    detector.update_many([5.0] * 5)
    assert not detector.ready and detector.score is None and not detector.drift_detected
    detector.update(5.0)
    assert detector.ready and detector.score == 0.0
