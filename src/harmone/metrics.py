"""Accuracy measures shared by training (holdout metrics) and the switch loop's monitor."""

from __future__ import annotations

import numpy as np


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("cannot score zero predictions")
    return y_true, y_pred


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination, ``1 - SS_res / SS_tot``.

    When the true values are constant (``SS_tot == 0``) the ratio is undefined; the score is
    then 1.0 if every prediction is exact and 0.0 otherwise (no better than predicting the
    mean), the convention of scikit-learn's ``force_finite``. The result is always finite,
    so a monitor window over a flat stretch of traffic never yields NaN or -inf.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    ss_res = float(np.sum((y_true - y_pred) ** 2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def skill_over_persistence(y_true: np.ndarray, y_pred: np.ndarray, y_persistence: np.ndarray) -> float:
    """``1 - SSE / SSE_persistence``: the share of persistence's squared error a forecast removes.

    1 is perfect, 0 is as good as predicting the last value, below 0 is worse than it. When
    persistence is exact everywhere (a constant stretch) the ratio is undefined; the score is
    then 0.0 for a forecast that is exact too and -1.0 otherwise, so it is always finite.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_base = _pair(y_true, y_persistence)
    sse = float(np.sum((y_true - y_pred) ** 2))
    sse_base = float(np.sum((y_true - y_base) ** 2))
    if sse_base == 0.0:
        return 0.0 if sse == 0.0 else -1.0
    return 1.0 - sse / sse_base


class RunningScores:
    """R² and MAE over batches of a long run, in constant memory.

    Sums are taken around the first value seen (a shift), so the sum of squares does not
    lose the digits a plain ``sum(y**2) - sum(y)**2 / n`` would; constant true values give
    an exactly zero ``SS_tot`` and follow ``r2_score``'s convention.
    """

    def __init__(self) -> None:
        self.n = 0
        self._shift: float | None = None
        self._sum = self._sum_sq = self._ss_res = self._abs = 0.0

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        if not len(y_true):
            return
        y_true, y_pred = _pair(y_true, y_pred)
        if self._shift is None:
            self._shift = float(y_true[0])
        centred = y_true - self._shift
        error = y_true - y_pred
        self.n += int(y_true.size)
        self._sum += float(centred.sum())
        self._sum_sq += float(np.dot(centred, centred))
        self._ss_res += float(np.dot(error, error))
        self._abs += float(np.abs(error).sum())

    def r2(self) -> float | None:
        """None below two values (R² of one prediction says nothing)."""
        if self.n < 2:
            return None
        ss_tot = max(self._sum_sq - self._sum * self._sum / self.n, 0.0)
        if ss_tot == 0.0:
            return 1.0 if self._ss_res == 0.0 else 0.0
        return 1.0 - self._ss_res / ss_tot

    def mae(self) -> float | None:
        return self._abs / self.n if self.n else None


# -- classification ------------------------------------------------------------------------
#
# Labels are class indices (whole numbers >= 0, as ``harmone.data.labelled`` stores them; a
# float array of whole numbers, as predictions come back from the knowledge store, is
# accepted). Every score is computed from counts (correct, per-class true and false
# positives and false negatives), so the batch functions and ``RunningClassScores`` share one
# formula and agree on the same rows.


def _labels(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as int64 class indices; ``ValueError`` naming ``what`` and the first bad value."""
    bad = ~(np.isfinite(values) & (values >= 0) & (values == np.floor(values)))
    if bad.any():
        raise ValueError(f"{what} must hold class indices (whole numbers >= 0), got {float(values[bad][0])!r}")
    return values.astype(np.int64)


def _label_pair(y_true: np.ndarray, y_pred: np.ndarray, pred_name: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = _pair(y_true, y_pred)
    return _labels(y_true, "y_true"), _labels(y_pred, pred_name)


def _class_counts(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class index 0..max: true positives, predicted counts and true counts."""
    k = int(max(y_true.max(), y_pred.max())) + 1
    tp = np.bincount(y_true[y_true == y_pred], minlength=k)
    return tp, np.bincount(y_pred, minlength=k), np.bincount(y_true, minlength=k)


def _macro_f1(tp: np.ndarray, predicted: np.ndarray, true: np.ndarray) -> float:
    """Mean F1 = 2 tp / (2 tp + fp + fn) over the classes that occur (true or predicted)."""
    present = (predicted + true) > 0
    f1 = 2.0 * tp[present] / (predicted[present] + true[present])
    return float(f1.mean())


def _kappa(accuracy: float, baseline: float) -> float:
    """``(acc - acc_baseline) / (1 - acc_baseline)``; a perfect baseline gives 0.0 (also perfect) or -1.0.

    The same convention as ``skill_over_persistence``: always finite, 1 is perfect, 0 is as
    good as the baseline, below 0 worse than it.
    """
    if baseline == 1.0:
        return 0.0 if accuracy == 1.0 else -1.0
    return (accuracy - baseline) / (1.0 - baseline)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of rows whose predicted class is the true one."""
    y_true, y_pred = _label_pair(y_true, y_pred)
    return int(np.count_nonzero(y_true == y_pred)) / y_true.size


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean of the per-class F1 over every class that is true or predicted in some row.

    A rare class counts as much as a common one, so a classifier that gives up on a class
    loses score that accuracy would hide. A class present in the data but never predicted
    correctly has F1 0; a class index that occurs in neither array is not a class here
    (scikit-learn's ``f1_score(average="macro")`` with its default labels).
    """
    y_true, y_pred = _label_pair(y_true, y_pred)
    return _macro_f1(*_class_counts(y_true, y_pred))


def majority_accuracy(y_true: np.ndarray) -> float:
    """Accuracy of the majority classifier: the most frequent true class predicted for every row."""
    y_true = _labels(np.asarray(y_true, dtype=np.float64).reshape(-1), "y_true")
    if y_true.size == 0:
        raise ValueError("cannot score zero predictions")
    return int(np.bincount(y_true).max()) / y_true.size


def no_change_accuracy(y_true: np.ndarray, y_previous: np.ndarray) -> float:
    """Accuracy of the no-change classifier, which predicts each row's previous true label."""
    y_true, y_previous = _label_pair(y_true, y_previous, "y_previous")
    return int(np.count_nonzero(y_true == y_previous)) / y_true.size


def kappa_m(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Kappa-M (Bifet et al. 2015): accuracy's gain over the majority classifier on the same rows.

    ``(acc - acc_majority) / (1 - acc_majority)``, the majority class taken from ``y_true`` over
    these rows. On an imbalanced stream a high accuracy can be no better than always naming
    the common class; Kappa-M is 0 there. When every row is of one class (the majority
    classifier is perfect): 0.0 if the predictions are perfect too, else -1.0.

    A. Bifet, G. de Francisci Morales, J. Read, G. Holmes, B. Pfahringer, "Efficient Online
    Evaluation of Big Data Stream Classifiers", KDD 2015.
    """
    return _kappa(accuracy(y_true, y_pred), majority_accuracy(y_true))


def kappa_temporal(y_true: np.ndarray, y_pred: np.ndarray, y_previous: np.ndarray) -> float:
    """Kappa-temporal (Žliobaitė et al. 2015): accuracy's gain over the no-change classifier.

    ``(acc - acc_nochange) / (1 - acc_nochange)`` where the no-change classifier predicts each
    row's previous true label (``y_previous``, aligned with ``y_true``). On a stream whose
    labels come in runs, a classifier that only repeats the last label scores a high
    accuracy and a Kappa-temporal of 0; the forecasting task's skill over persistence is the
    same idea. A perfect no-change classifier gives 0.0 for perfect predictions, else -1.0.

    I. Žliobaitė, A. Bifet, J. Read, B. Pfahringer, G. Holmes, "Evaluation methods and
    decision theory for classification of streaming data with temporal dependence", Machine
    Learning 98(3), 2015.
    """
    return _kappa(accuracy(y_true, y_pred), no_change_accuracy(y_true, y_previous))


class RunningClassScores:
    """Accuracy, macro-F1, Kappa-M and Kappa-temporal over batches of a long run, in constant memory.

    Keeps counts only: rows and correct rows, per class true positives, predicted and true
    counts (the majority class is the one with the most true rows), and for Kappa-temporal
    the no-change classifier's correct rows. Each property equals the batch function over
    the concatenated batches. The no-change prediction of a row is the true label of the row
    before it, across batch boundaries; the first row has one only when ``previous`` (the
    label before the stream) is given, else Kappa-temporal is taken over the rows after it.
    Class counts grow with the largest class index seen.
    """

    def __init__(self, previous: int | None = None) -> None:
        self.n = 0
        self._correct = 0
        self._tp = np.zeros(0, dtype=np.int64)
        self._predicted = np.zeros(0, dtype=np.int64)
        self._true = np.zeros(0, dtype=np.int64)
        self._previous = None if previous is None else int(_labels(np.array([previous], dtype=np.float64),
                                                                   "previous")[0])
        #: Rows with a previous label, the model's and the no-change classifier's correct ones among them.
        self._temporal_n = self._temporal_correct = self._nochange_correct = 0

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        if not len(y_true):
            return
        y_true, y_pred = _label_pair(y_true, y_pred)
        tp, predicted, true = _class_counts(y_true, y_pred)
        k = max(tp.size, self._tp.size)
        self._tp, self._predicted, self._true = (
            np.pad(old, (0, k - old.size)) + np.pad(new, (0, k - new.size))
            for old, new in ((self._tp, tp), (self._predicted, predicted), (self._true, true)))
        hits = y_true == y_pred
        self.n += int(y_true.size)
        self._correct += int(np.count_nonzero(hits))
        if self._previous is None:  # the very first row: nothing before it to repeat
            y_prev, judged = y_true[:-1], slice(1, None)
        else:
            y_prev, judged = np.concatenate([[self._previous], y_true[:-1]]), slice(None)
        self._temporal_n += int(y_prev.size)
        self._temporal_correct += int(np.count_nonzero(hits[judged]))
        self._nochange_correct += int(np.count_nonzero(y_true[judged] == y_prev))
        self._previous = int(y_true[-1])

    @property
    def accuracy(self) -> float | None:
        """None before any row."""
        return self._correct / self.n if self.n else None

    @property
    def macro_f1(self) -> float | None:
        return _macro_f1(self._tp, self._predicted, self._true) if self.n else None

    @property
    def kappa_m(self) -> float | None:
        if not self.n:
            return None
        return _kappa(self._correct / self.n, int(self._true.max()) / self.n)

    @property
    def kappa_temporal(self) -> float | None:
        """None before a row with a previous label."""
        if not self._temporal_n:
            return None
        return _kappa(self._temporal_correct / self._temporal_n, self._nochange_correct / self._temporal_n)
