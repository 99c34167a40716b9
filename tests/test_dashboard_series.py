"""The live page's figures agree with the plain definitions, and the store's dashboard reads
touch only what they return."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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


def test_the_dashboard_reads_of_the_store(tmp_path: Path) -> None:
    with KnowledgeStore(tmp_path / "k.db") as store:
        store.append_predictions([(float(i), float(i), float(i), "svm" if i % 4 else "linear", 1, 0.0, 2.0)
                                  for i in range(1000)])
        for i in range(5):
            store.record_event(Event(time_s=float(i), loop=LoopName.DRIFT if i % 2 else LoopName.SWITCH,
                                     action=Action.NONE, decision=Decision.NOT_READY if i % 2 else Decision.ERROR,
                                     observed={"error": "x"} if i % 2 == 0 else {}))
        buckets = store.prediction_buckets_after(0, 64)  # number, first, last, rows, times, truth, prediction, energy
        assert buckets.shape == (16, 11) and buckets[0, :4].tolist() == [0, 1, 64, 64]
        assert buckets[-1, :4].tolist() == [15, 961, 1000, 40] and buckets[-1, 6:8].tolist() == [960.0, 999.0]
        assert buckets[:, 10].sum() == 2000.0 and len(store.prediction_buckets_after(1000, 64)) == 0
        assert store.prediction_buckets_after(990, 64)[:, 1:4].tolist() == [[991, 1000, 10]]
        totals, last = store.model_totals_after(0)
        assert totals == {"linear": (250, 500.0), "svm": (750, 1500.0)} and last == 1000
        assert store.model_totals_after(1000) == ({}, 1000)
        assert [e.id for e in store.events_before(None, limit=2)] == [5, 4]
        assert [e.id for e in store.events_before(4, loop="drift")] == [2]
        assert [e.id for e in store.events_before(None, decision="error")] == [5, 3, 1]
        assert store.last_event_id() == 5
