"""Classification scores: accuracy and macro-F1 as scikit-learn computes them, the kappas by hand,
and the running scores equal to the batch ones over a long run cut into batches."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from harmone.metrics import (RunningClassScores, accuracy, kappa_m, kappa_temporal, macro_f1, majority_accuracy,
                             no_change_accuracy)

#: Ten rows of three classes (6 x 0, 3 x 1, 1 x 2) and a classifier that errs on two of them.
TRUE = np.array([0, 0, 0, 1, 1, 2, 0, 0, 1, 0])
PRED = np.array([0, 0, 1, 1, 1, 2, 0, 0, 0, 0])
#: Each row's previous true label, the one before the first being 0.
PREVIOUS = np.array([0, 0, 0, 0, 1, 1, 2, 0, 0, 1])


def random_labels(seed: int, n: int, k_true: int, k_pred: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k_true, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k_pred, n))
    return y_true, y_pred


@pytest.mark.parametrize(("seed", "n", "k_true", "k_pred"), [
    (0, 1000, 10, 10), (1, 50, 3, 3), (2, 200, 4, 7), (3, 200, 7, 3), (4, 7, 5, 5), (5, 1, 2, 2)])
def test_accuracy_and_macro_f1_match_scikit_learn(seed: int, n: int, k_true: int, k_pred: int) -> None:
    y_true, y_pred = random_labels(seed, n, k_true, k_pred)
    assert accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, y_pred), rel=1e-12)
    assert macro_f1(y_true, y_pred) == pytest.approx(f1_score(y_true, y_pred, average="macro"), rel=1e-12)


def test_the_hand_computed_example() -> None:
    assert accuracy(TRUE, PRED) == 0.8
    # F1 per class: 0 -> 10/12 (tp 5, fp 1, fn 1), 1 -> 4/6, 2 -> 1.
    assert macro_f1(TRUE, PRED) == pytest.approx((10 / 12 + 4 / 6 + 1) / 3, rel=1e-12)
    assert majority_accuracy(TRUE) == 0.6
    assert kappa_m(TRUE, PRED) == pytest.approx((0.8 - 0.6) / 0.4, rel=1e-12)
    assert no_change_accuracy(TRUE, PREVIOUS) == 0.5
    assert kappa_temporal(TRUE, PRED, PREVIOUS) == pytest.approx((0.8 - 0.5) / 0.5, rel=1e-12)


def test_a_class_never_predicted_scores_zero_f1_and_an_absent_index_is_no_class() -> None:
    # Class 1 is true once and never predicted: F1 0. Index 2 is skipped, 3 is predicted only.
    y_true, y_pred = np.array([0, 0, 1, 3]), np.array([0, 0, 0, 3])
    assert macro_f1(y_true, y_pred) == pytest.approx((0.8 + 0.0 + 1.0) / 3, rel=1e-12)
    assert macro_f1([0, 0], [4, 4]) == 0.0


def test_kappa_m_is_zero_for_the_majority_classifier_and_negative_below_it() -> None:
    y_true = np.array([0, 0, 0, 1])
    assert kappa_m(y_true, [0, 0, 0, 0]) == 0.0
    assert kappa_m(y_true, y_true) == 1.0
    assert kappa_m(y_true, [1, 1, 1, 1]) == pytest.approx((0.25 - 0.75) / 0.25, rel=1e-12)


def test_kappa_temporal_is_zero_for_the_no_change_classifier_on_a_stream_of_runs() -> None:
    y_true = np.array([0] * 5 + [1] * 5)
    previous = np.concatenate([[0], y_true[:-1]])
    assert no_change_accuracy(y_true, previous) == 0.9
    assert kappa_temporal(y_true, previous, previous) == 0.0
    assert kappa_temporal(y_true, y_true, previous) == 1.0
    # High accuracy, yet worse than repeating the last label.
    assert kappa_temporal(y_true, [0] * 10, previous) == pytest.approx((0.5 - 0.9) / 0.1, rel=1e-12)


def test_a_perfect_baseline_gives_zero_for_perfect_predictions_else_minus_one() -> None:
    same = np.ones(6, dtype=int)
    assert kappa_m(same, same) == 0.0 and kappa_temporal(same, same, same) == 0.0
    wrong = same.copy()
    wrong[2] = 0
    assert kappa_m(same, wrong) == -1.0 and kappa_temporal(same, wrong, same) == -1.0


def test_float_labels_that_are_whole_numbers_are_accepted() -> None:
    assert accuracy(TRUE.astype(float), PRED) == accuracy(TRUE, PRED)
    assert macro_f1(TRUE.astype(float), PRED.astype(float)) == macro_f1(TRUE, PRED)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: accuracy([0, 1], [0]), "y_true has 2 values but y_pred has 1"),
    (lambda: macro_f1([], []), "cannot score zero predictions"),
    (lambda: majority_accuracy([]), "cannot score zero predictions"),
    (lambda: accuracy([0, 1.5], [0, 1]), r"y_true must hold class indices \(whole numbers >= 0\), got 1.5"),
    (lambda: macro_f1([0, 1], [0, -1]), "y_pred must hold class indices .*got -1.0"),
    (lambda: kappa_m([0, np.nan], [0, 1]), "y_true must hold class indices .*got nan"),
    (lambda: kappa_temporal([0, 1], [0, 1], [0, 0.5]), "y_previous must hold class indices .*got 0.5"),
    (lambda: RunningClassScores(previous=-2), "previous must hold class indices .*got -2.0"),
])
def test_bad_labels_are_refused_naming_the_array_and_value(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def _batches(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A run in batches of uneven size (some empty); a new class appears only in the last third."""
    rng = np.random.default_rng(seed)
    y_true = np.sort(rng.integers(0, 4, (60, 50)), axis=1).reshape(-1)  # runs of one label
    y_true[2000:] = np.where(y_true[2000:] == 3, 6, y_true[2000:])
    y_pred = np.where(rng.random(3000) < 0.7, y_true, rng.integers(0, 4, 3000))
    cuts = np.sort(np.random.default_rng(seed + 100).choice(np.arange(1, 3000), 40, replace=False))
    cuts = np.concatenate([[0], cuts, cuts[:3], [3000]])  # repeats: empty batches
    cuts.sort()
    return [(y_true[a:b], y_pred[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("previous", [None, 2])
def test_running_scores_equal_the_batch_scores_over_the_concatenated_batches(seed: int, previous: int | None) -> None:
    running = RunningClassScores(previous=previous)
    seen_true: list[np.ndarray] = []
    seen_pred: list[np.ndarray] = []
    for y_true, y_pred in _batches(seed):
        running.update(y_true, y_pred)
        seen_true.append(y_true)
        seen_pred.append(y_pred)
        t, p = np.concatenate(seen_true), np.concatenate(seen_pred)
        if not t.size:
            continue
        assert running.n == t.size
        assert running.accuracy == pytest.approx(accuracy(t, p), rel=1e-12)
        assert running.macro_f1 == pytest.approx(macro_f1(t, p), rel=1e-12)
        assert running.kappa_m == pytest.approx(kappa_m(t, p), rel=1e-12)
        if previous is None:
            expected = kappa_temporal(t[1:], p[1:], t[:-1]) if t.size > 1 else None
        else:
            expected = kappa_temporal(t, p, np.concatenate([[previous], t[:-1]]))
        assert running.kappa_temporal == pytest.approx(expected, rel=1e-12)
    # On runs of one label repeating the last one is right ~95 % of the time: a ~78 % classifier is worse.
    assert running.n == 3000 and 0.7 < running.accuracy < 0.85 and running.kappa_temporal < -1.0


def test_running_scores_say_none_until_there_is_something_to_score() -> None:
    running = RunningClassScores()
    running.update(np.array([], dtype=int), np.array([], dtype=int))
    assert (running.n, running.accuracy, running.macro_f1, running.kappa_m, running.kappa_temporal) == \
        (0, None, None, None, None)
    running.update([1], [1])
    assert (running.accuracy, running.kappa_m, running.kappa_temporal) == (1.0, 0.0, None)
    running.update([1], [0])
    assert running.kappa_temporal == -1.0  # the no-change classifier was right, the model wrong
