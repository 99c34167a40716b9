"""The built-in image stream: pools, schedule, corruptions, determinism, and that regimes hurt models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harmone.data import digits
from harmone.data.digits import (CORRUPTIONS, DEFAULT_RECORDS, MAX_RECORDS, SCHEDULE, blur, contrast,
                                 gaussian_noise, generate, min_records, occlusion, rotation, source_pools)
from harmone.data.labelled import format_labelled, read_labelled
from harmone.errors import DataError


@pytest.fixture(scope="module")
def default_stream() -> digits.DigitsStream:
    return generate(None, 0, 0.1)


@pytest.fixture(scope="module")
def pools() -> tuple[set[bytes], set[bytes]]:
    train, test = source_pools(0)
    return {row.tobytes() for row in train.X}, {row.tobytes() for row in test.X}


# --- the stream ---------------------------------------------------------------------------

def test_default_stream_sizes_columns_and_range(default_stream: digits.DigitsStream) -> None:
    s = default_stream
    assert (len(s.train), len(s.test)) == (1200, DEFAULT_RECORDS - 1200)
    for part in (s.train, s.test):
        assert part.feature_names == tuple(f"x{i}" for i in range(64))
        assert part.class_names == tuple("0123456789")
        assert part.X.min() >= 0.0 and part.X.max() <= 1.0
        assert set(np.unique(part.y).tolist()) == set(range(10))


def test_the_pools_are_disjoint_stratified_and_the_splits_draw_only_from_their_own(
        default_stream: digits.DigitsStream, pools: tuple[set[bytes], set[bytes]]) -> None:
    train_pool, test_pool = source_pools(0)
    assert len(train_pool) + len(test_pool) == 1797
    assert not pools[0] & pools[1]
    shares = np.bincount(train_pool.y) / (np.bincount(train_pool.y) + np.bincount(test_pool.y))
    assert shares == pytest.approx(0.6, abs=0.01)
    # The training split is clean images of the training pool only.
    assert {row.tobytes() for row in default_stream.train.X} <= pools[0]
    # Clean regimes of the test stream hold test-pool images only; corrupted ones hold none unchanged.
    for regime in default_stream.regimes:
        rows = {row.tobytes() for row in default_stream.test.X[regime.start:regime.end]}
        assert not rows & pools[0]
        if regime.name == "clean":
            assert rows <= pools[1]
        elif regime.name != "occlusion":  # a square over blank background can leave an image as it was
            assert len(rows & pools[1]) < 0.02 * len(rows)


def test_regimes_follow_the_schedule_and_cover_the_test_stream(default_stream: digits.DigitsStream) -> None:
    regimes = default_stream.regimes
    assert [r.name for r in regimes] == ["clean", "noise", "clean", "rotation", "contrast", "clean", "noise",
                                         "blur", "occlusion", "clean"]
    assert regimes[0].start == 0 and regimes[-1].end == len(default_stream.test)
    assert all(a.end == b.start for a, b in zip(regimes, regimes[1:]))
    lengths = [r.end - r.start for r in regimes]
    assert min(lengths) >= 300 and max(lengths) <= 1600
    assert len(set(lengths)) >= 5  # regimes of varying length


@pytest.mark.parametrize("n_records", [3000, 7777, 40_000])
def test_schedule_is_proportional_to_the_stream_length(n_records: int) -> None:
    stream = generate(n_records, 1, 0.2)
    n_test = len(stream.test)
    assert len(stream.train) == round(n_records * 0.2)
    ends = np.cumsum([phase.share for phase in SCHEDULE]) * n_test
    assert [r.end for r in stream.regimes] == pytest.approx(ends, abs=1)


def test_same_seed_same_arrays_other_seed_other_arrays() -> None:
    a, b, c = generate(2000, 7, 0.3), generate(2000, 7, 0.3), generate(2000, 8, 0.3)
    for part in ("train", "test"):
        assert getattr(a, part).X.tobytes() == getattr(b, part).X.tobytes()
        assert getattr(a, part).y.tobytes() == getattr(b, part).y.tobytes()
        assert getattr(a, part).X.tobytes() != getattr(c, part).X.tobytes()
    assert a.regimes == b.regimes == c.regimes


def test_the_stream_round_trips_through_the_labelled_format(tmp_path: Path) -> None:
    stream = generate(2000, 0, 0.1)
    path = tmp_path / "test.csv"
    path.write_text(format_labelled(stream.test), encoding="utf-8")
    back = read_labelled(path)
    assert back.X.tobytes() == stream.test.X.tobytes() and back.y.tolist() == stream.test.y.tolist()


def test_too_short_streams_name_the_minimum() -> None:
    need = min_records(0.1)
    assert len(generate(need, 0, 0.1).test) >= 50 * len(SCHEDULE)
    with pytest.raises(DataError, match=f"records = {need - 1} is too few .* need at least {need}"):
        generate(need - 1, 0, 0.1)
    assert min_records(0.5) > need  # a larger training share leaves a shorter test stream


@pytest.mark.parametrize("args, message", [
    ((0, 0, 0.1), "must be from 1 to"),
    ((MAX_RECORDS + 1, 0, 0.1), "must be from 1 to"),
    ((5000, 0, 1.0), "between 0 and 1"),
    ((5000, 0, 0.0), "between 0 and 1"),
    ((5000, -1, 0.1), "seed -1 must be 0 or more"),
    ((MAX_RECORDS, 0, 0.0001), "leaves no room"),
])
def test_bad_arguments_are_one_line_errors(args: tuple[int, int, float], message: str) -> None:
    with pytest.raises(DataError, match=message):
        generate(*args)


# --- corruptions --------------------------------------------------------------------------

def _rng() -> np.random.Generator:
    return np.random.default_rng(3)


@pytest.mark.parametrize("name, severity", [("noise", 0.3), ("blur", 0.8), ("contrast", 0.4),
                                            ("rotation", 20.0), ("occlusion", 3.0)])
def test_corruptions_are_pure_keep_shape_and_range(name: str, severity: float) -> None:
    images = source_pools(0)[1].X[:50].reshape(50, 8, 8)
    original = images.copy()
    corrupt = CORRUPTIONS[name]
    out = corrupt(images, severity, _rng())
    assert out.shape == images.shape and out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(images, original)  # the input is not touched
    assert np.array_equal(out, corrupt(images, severity, _rng()))
    assert not np.array_equal(out, images)
    assert corrupt(images[0], severity, _rng()).shape == (8, 8)


def test_noise_has_the_given_standard_deviation() -> None:
    gray = np.full((400, 8, 8), 0.5)
    assert np.std(gaussian_noise(gray, 0.05, _rng()) - gray) == pytest.approx(0.05, rel=0.03)


def test_contrast_fades_the_ink_towards_the_black_background() -> None:
    images = source_pools(0)[1].X[:20].reshape(20, 8, 8)
    out = contrast(images, 0.4, _rng())
    np.testing.assert_allclose(out, 0.4 * images, rtol=1e-12)
    assert out.min() == 0.0 and out.max() == pytest.approx(0.4 * images.max())


def test_blur_spreads_a_point_symmetrically() -> None:
    point = np.zeros((8, 8))
    point[3, 4] = 1.0
    out = blur(point, 0.8, _rng())
    assert out[3, 4] < 0.5 and out[3, 3] == pytest.approx(out[3, 5]) == pytest.approx(out[2, 4])
    assert out.sum() == pytest.approx(1.0, abs=0.01)


def test_rotation_turns_either_way_by_the_angle() -> None:
    bar = np.zeros((8, 8))
    bar[1:7, 3:5] = 1.0  # a vertical bar through the centre
    out = rotation(np.stack([bar] * 40), 90.0, _rng())
    np.testing.assert_allclose(out, np.stack([bar.T] * 40), atol=1e-9)  # a quarter turn either way
    tilted = rotation(np.stack([bar] * 200), 20.0, _rng())
    left = tilted[:, 1, 2] > tilted[:, 1, 5]  # the top of the bar leans one way or the other
    assert 60 < left.sum() < 140


def test_occlusion_blacks_out_one_square_of_the_given_side() -> None:
    white = np.ones((100, 8, 8))
    out = occlusion(white, 3, _rng())
    for image in out:
        rows, cols = np.nonzero(image == 0.0)
        assert len(rows) == 9 and np.ptp(rows) == 2 and np.ptp(cols) == 2
    corners = {(int(np.nonzero(image == 0.0)[0].min()), int(np.nonzero(image == 0.0)[1].min())) for image in out}
    assert len(corners) > 10  # at random places
    with pytest.raises(ValueError, match="side 9"):
        occlusion(white, 9, _rng())


# --- the regimes change what the models achieve -------------------------------------------

def test_regimes_cost_accuracy_and_widen_the_gap_between_cheap_and_strong_models() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    pool, _ = source_pools(0)
    models = {"logistic": LogisticRegression(max_iter=5000).fit(pool.X, pool.y), "svc": SVC().fit(pool.X, pool.y)}
    stream = generate(6000, 0, 0.1)
    accuracy: dict[str, dict[str, list[float]]] = {kind: {} for kind in models}
    for regime in stream.regimes:
        part = stream.test.take(slice(regime.start, regime.end))
        for kind, model in models.items():
            accuracy[kind].setdefault(regime.name, []).append(float(model.score(part.X, part.y)))
    mean = {kind: {name: float(np.mean(v)) for name, v in by.items()} for kind, by in accuracy.items()}
    # Clean: both near their filed figures (logistic ~0.96, RBF-SVC ~0.99).
    assert mean["logistic"]["clean"] == pytest.approx(0.96, abs=0.03)
    assert mean["svc"]["clean"] == pytest.approx(0.99, abs=0.02)
    for kind in models:
        clean = mean[kind]["clean"]
        assert mean[kind]["noise"] < clean - 0.04
        assert mean[kind]["rotation"] < clean - 0.2
        for name in ("contrast", "blur", "occlusion"):
            assert mean[kind][name] < clean - 0.04, (kind, name)
    # The cheap model nearly matches the strong one on clean images, not under rotation or blur.
    assert mean["svc"]["clean"] - mean["logistic"]["clean"] < 0.05
    for name in ("rotation", "blur"):
        assert mean["svc"][name] - mean["logistic"][name] > 0.08, name
