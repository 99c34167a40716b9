"""The live page's figures agree with the plain definitions, and the store's dashboard reads
touch only what they return."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harmone import tasks
from harmone.dashboard import series
from harmone.knowledge import Action, Decision, Event, KnowledgeStore, LoopName
from harmone.metrics import r2_score


def test_rolling_r2_and_skill_match_their_definitions() -> None:
    rng = np.random.default_rng(3)
    truth = np.cumsum(rng.normal(0, 1, 400)) + 50
    predicted = truth + rng.normal(0, 0.5, 400)
    r2 = series.rolling_r2(truth, predicted, 50)
    skill = series.rolling_skill(truth, predicted, 50)
    assert np.isnan(r2[:49]).all() and np.isnan(skill[:50]).all()
    for end in (49, 200, 399):
        window = slice(end - 49, end + 1)
        assert abs(r2[end] - r2_score(truth[window], predicted[window])) < 1e-9
    end = 300
    model = np.sum((truth[end - 49:end + 1] - predicted[end - 49:end + 1]) ** 2)
    naive = np.sum((truth[end - 49:end + 1] - truth[end - 50:end]) ** 2)
    assert abs(skill[end] - (1 - model / naive)) < 1e-9
    assert series.finite_list([1.0, float("nan"), float("inf")]) == [1.0, None, None]


def _stream(task: str, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Predictions of a task: a random walk and noisy forecasts, or classes in runs (a stretch of
    one class, which no-change predicts perfectly, included) and a classifier right 70 % of the time."""
    rng = np.random.default_rng(5)
    if task == "forecasting":
        truth = np.cumsum(rng.normal(0, 1, n)) + 50
        return truth, truth + rng.normal(0, 0.7, n)
    truth = np.repeat(rng.integers(0, 4, n), rng.integers(1, 6, n))[:n].astype(np.float64)
    truth[100:180] = 2.0
    predicted = np.where(rng.random(n) < 0.7, truth, rng.integers(0, 4, n)).astype(np.float64)
    predicted[100:140] = 2.0
    return truth, predicted


@pytest.mark.parametrize("name", tasks.names())
def test_the_rolling_figures_are_the_tasks_own_metric_and_skill_over_each_window(name: str) -> None:
    """The closed forms the live chart uses agree with calling the task's functions on every window."""
    task = tasks.get(name)
    truth, predicted = _stream(name)
    metric, skill = series.rolling(task, truth, predicted, 40)
    by_window = series.rolling_windows(task, truth, predicted, 40)
    np.testing.assert_allclose(metric, by_window[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(skill, by_window[1], rtol=1e-9, atol=1e-12)
    assert np.isnan(metric[:39]).all() and np.isnan(skill[:40]).all() and np.isfinite(skill[40:]).all()
    end = 400
    window = slice(end - 39, end + 1)
    assert skill[end] == pytest.approx(task.skill(truth[window], predicted[window], truth[end - 40:end]), rel=1e-9)


def test_kappa_temporal_follows_its_convention_where_no_change_is_perfect() -> None:
    task = tasks.get("classification")
    truth, predicted = _stream("classification")
    _, skill = series.rolling(task, truth, predicted, 20)
    assert skill[139] == 0.0  # rows 120..139: one class, predicted right throughout
    assert skill[179] == -1.0  # rows 160..179: one class, some predictions wrong


def test_the_dashboard_reads_of_the_store(tmp_path: Path) -> None:
    with KnowledgeStore(tmp_path / "k.db") as store:
        store.append_predictions([(float(i), float(i), float(i), "svm" if i % 4 else "linear", 1, 0.0, 2.0)
                                  for i in range(1000)])
        for i in range(5):
            store.record_event(Event(time_s=float(i), loop=LoopName.DRIFT if i % 2 else LoopName.SWITCH,
                                     action=Action.NONE, decision=Decision.NOT_READY if i % 2 else Decision.ERROR,
                                     observed={"error": "x"} if i % 2 == 0 else {}))
        # per bucket of 64 ids and model: number, model, first and last id, rows, times, truth, prediction, energy
        buckets = store.prediction_buckets_after(0, 64)
        assert len(buckets) == 32 and buckets[:2] == [(0, "linear", 1, 61, 16, 0.0, 60.0, 0.0, 60.0, 0.0, 60.0, 32.0),
                                                      (0, "svm", 2, 64, 48, 1.0, 63.0, 1.0, 63.0, 1.0, 63.0, 96.0)]
        assert buckets[-1][:5] == (15, "svm", 962, 1000, 30) and buckets[-2][:5] == (15, "linear", 961, 997, 10)
        assert sum(b[-1] for b in buckets) == 2000.0 and store.prediction_buckets_after(1000, 64) == []
        assert [b[:5] for b in store.prediction_buckets_after(990, 64)] == [(15, "svm", 991, 1000, 8),
                                                                             (15, "linear", 993, 997, 2)]
        assert [e.id for e in store.events_before(None, limit=2)] == [5, 4]
        assert [e.id for e in store.events_before(4, loop="drift")] == [2]
        assert [e.id for e in store.events_before(None, decision="error")] == [5, 3, 1]
        assert store.last_event_id() == 5
