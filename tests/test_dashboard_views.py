"""What the pages show, read straight from a workspace: the whole-history chart and its markers, the
energy table, decisions in words with their thresholds, loop schedules in words, lineage, and what
an empty workspace should run first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import harmone.dashboard.explain as explain
import harmone.dashboard.views as views
from harmone.dashboard.history import BASE_ROWS, History
from harmone.knowledge import Action, Decision, Event, KnowledgeStore, LoopName
from harmone.workspace import Workspace


def _rows(values: np.ndarray, model: str = "linear", energy_uj: float = 3.0, start_s: float = 0.0) -> list[tuple]:
    return [(start_s + 0.15 * i, float(v), float(v) + 1.0, model, 1, 1e-5, energy_uj) for i, v in enumerate(values)]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    workspace, _ = Workspace.init(tmp_path / "ws")
    return workspace


def test_the_energy_table_keeps_every_model_of_the_history_after_an_update(workspace: Workspace) -> None:
    """A live update once carried energy for its new rows only, and the page showed just the last model."""
    with KnowledgeStore(workspace.db_path) as store:
        for model, energy in (("linear", 2.0), ("lstm", 40.0), ("svm", 5.0)):
            store.append_predictions(_rows(np.full(50, 100.0), model, energy))
        store.append_predictions(_rows(np.full(5, 100.0), "svm", 7.0))
    history = History(workspace)
    first = views.live(workspace, history)
    update = views.live(workspace, history, after=first["last_row_id"] - 5)
    assert len(update["rows"]["id"]) == 5
    assert set(update["energy"]) == {"linear", "lstm", "svm"}
    assert update["energy"]["lstm"] == {"predictions": 50, "mean_uj": pytest.approx(40.0)}
    assert update["energy"]["svm"]["mean_uj"] == pytest.approx((50 * 5.0 + 5 * 7.0) / 55)


def test_live_energy_comes_as_the_models_own_work_and_the_serving_overhead(workspace: Workspace) -> None:
    from harmone.energy.calibrate import Calibration

    Calibration(energy_uj_per_prediction={"linear": 600.0}, overhead_uj_per_prediction={"linear": 90.0},
                duration_s_per_prediction={"linear": 1e-5}, e_min_uj=0.0, e_max_uj=750.0, meter_kind="estimated",
                meter_source="cpu-time-estimate:thread@15W/core", predictions=200, headroom=1.25,
                gap_s=0.01).save(workspace.calibration_path)
    with KnowledgeStore(workspace.db_path) as store:
        store.append_predictions([(*row, 2.5) for row in _rows(np.full(4, 100.0), "linear", 3.0)])
        store.record_event(Event(time_s=40.0, loop=LoopName.SWITCH, action=Action.NONE, model="linear", version=1,
                                 decision=Decision.OK, observed={"energy_basis": {"factor": 1.2, "rows": 4,
                                                                                  "by_kind": {"linear": 1.2}}}))
    payload = views.live(workspace, History(workspace))
    assert payload["rows"]["model_energy_uj"] == [2.5] * 4 and payload["rows"]["energy_uj"] == [3.0] * 4
    assert payload["energy_basis"] == {"factor": 1.2, "rows": 4, "by_kind": {"linear": 1.2}}
    reference = views.energy_reference(workspace)
    assert reference["calibrated_uj"] == {"linear": 600.0} and reference["calibrated_overhead_uj"] == {"linear": 90.0}


def _seasonal(n: int) -> np.ndarray:
    t = np.arange(n)
    values = 200 + 150 * np.sin(2 * np.pi * t / 288)
    values[::9973] += 500  # rare one-row spikes
    return values


def test_the_history_chart_keeps_min_and_max_of_every_group_and_markers_of_the_whole_history(
        workspace: Workspace) -> None:
    """Keeping every k-th row aliased the daily cycle and skipped peaks; min/max per group cannot."""
    n = 100_000
    values = _seasonal(n)
    with KnowledgeStore(workspace.db_path) as store:
        store.append_predictions(_rows(values))
        store.record_event(Event(time_s=1.5, loop=LoopName.SWITCH, action=Action.SWITCH, model="svm", version=1,
                                 decision=Decision.SCORE_VIOLATION, observed={"last_row_id": 10}))
        for i in range(300):  # newer events push the old switch out of any "latest events" page
            store.record_event(Event(time_s=2.0, loop=LoopName.DRIFT, action=Action.NONE, decision=Decision.NO_DRIFT,
                                     observed={"last_row_id": 50_000 + i}))
    history = History(workspace)
    chart = views.history(workspace, history, None, None, 600)
    x, truth = np.array(chart["x"]), np.array(chart["truth"])
    assert chart["first"] == 1 and chart["last"] == n and len(x) <= 2 * 600 and chart["rows_per_group"] > 1
    assert truth.max() == pytest.approx(values.max()) and truth.min() == pytest.approx(values.min())
    assert np.isin(np.round(values[::9973], 3), truth).all()  # every spike is drawn
    for low, high, first, last in zip(truth[::2], truth[1::2], x[::2], x[1::2]):
        group = values[first - 1:last]
        assert low == pytest.approx(group.min(), abs=1e-3) and high == pytest.approx(group.max(), abs=1e-3)
    assert [(m["kind"], m["row"]) for m in chart["markers"]] == [("switch", 10)]
    # energy over time: the mean of each group, beside the goal
    assert chart["energy_uj"][0] == pytest.approx(3.0) and chart["energy"]["goal_uj"] > 0

    zoomed = views.history(workspace, history, 1000, 1999, 600)
    assert zoomed["rows_per_group"] == 2 and zoomed["x"][:4] == [1000, 1001, 1002, 1003]
    closest = views.history(workspace, history, 1000, 1300, 600)
    assert closest["rows_per_group"] == 1 and closest["x"] == list(range(1000, 1301))
    assert closest["truth"] == pytest.approx(np.round(values[999:1300], 3).tolist())


def test_the_history_is_read_once_then_only_what_was_logged_since(workspace: Workspace,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with KnowledgeStore(workspace.db_path) as store:
        store.append_predictions(_rows(np.arange(1000.0)))
    history = History(workspace)
    reads: list[int] = []
    real = KnowledgeStore.prediction_buckets_after
    monkeypatch.setattr(KnowledgeStore, "prediction_buckets_after",
                        lambda self, row_id, width: reads.append(row_id) or real(self, row_id, width))
    history.catch_up()
    with KnowledgeStore(workspace.db_path) as store:
        store.append_predictions(_rows(np.arange(1000.0, 1100.0)))
    history.catch_up()
    assert reads == [0, (1000 // BASE_ROWS) * BASE_ROWS]
    chart = history.chart(None, None, None, 600)
    assert chart["last"] == 1100
    with KnowledgeStore(workspace.db_path) as store:
        chart = history.chart(store, None, None, 10)
    assert max(chart["truth"]) == 1099.0 and min(chart["truth"]) == 0.0
    assert history.energy_per_model() == {"linear": {"predictions": 1100, "mean_uj": pytest.approx(3.0)}}

    with KnowledgeStore(workspace.db_path) as store:  # reset and refilled past the old length
        store.clear()
        store.append_predictions(_rows(np.full(1200, 7.0), "svm"))
    history.catch_up()
    assert history.energy_per_model() == {"svm": {"predictions": 1200, "mean_uj": pytest.approx(3.0)}}


def test_decisions_show_each_compared_value_beside_its_threshold_and_why(tmp_path: Path) -> None:
    from conftest import make_workspace

    workspace = make_workspace(tmp_path / "ws", n=600)  # min_score 0.78, drift threshold 0.75
    with KnowledgeStore(workspace.db_path) as store:
        store.record_event(Event(time_s=100.0, loop=LoopName.DRIFT, action=Action.REUSE, model="linear", version=1,
                                 decision=Decision.REUSE, energy_uj=21_088_949.4,
                                 observed={"detector_score": 0.876, "version_kl": 0.1, "drift_detected": True}))
        store.record_event(Event(time_s=200.0, loop=LoopName.SWITCH, action=Action.SWITCH, model="svm", version=1,
                                 decision=Decision.SCORE_VIOLATION,
                                 observed={"ema": 0.61, "budget": 0.9, "normalised_energy": 0.2, "recovery": 0}))
        store.record_event(Event(time_s=300.0, loop=LoopName.SWITCH, action=Action.SWITCH, model="linear", version=1,
                                 decision=Decision.ENERGY_VIOLATION,
                                 observed={"ema": 0.9, "budget": 0.3, "normalised_energy": 0.8, "recovery": 3}))
    events = views.decisions(workspace)["events"]
    energy, score, drift = events
    kl = drift["compared"][0]
    assert (kl["what"], kl["value"], kl["op"], kl["threshold"], kl["setting"]) == (
        "window-kl score", 0.876, ">", 0.75, "drift.threshold")
    assert drift["compared"][1]["op"] == "<" and drift["compared"][1]["threshold"] == 0.75
    assert drift["time"] == 100.0 and drift["energy_uj"] == pytest.approx(21_088_949.4)
    assert "EMA 0.61 fell below min_score 0.78" in score["why"]
    assert score["compared"][0]["threshold"] == 0.78 and score["compared"][0]["op"] == "<"
    assert "normalised energy 0.8 was above the goal 0.5" in energy["why"]


def test_loop_schedules_in_words() -> None:
    clock = {"clock_s": 40.0, "unix_s": 1000.0}
    words = explain.next_runs({"switch": 100.0, "drift": 45.0, "retrain": None}, clock, 2.0, True, now_unix=1010.0)
    assert words["switch"] == {"in_s": 20.0, "words": "next run in 20 s"}
    assert words["drift"]["words"] == "due now" and words["retrain"]["words"] == "has not run yet"
    idle = explain.next_runs({"switch": 100.0}, clock, 1.0, False)
    assert idle["switch"]["in_s"] is None and "not running" in idle["switch"]["words"]
    assert explain.time_scale_of("harmone manage -w /x --time-scale 20") == 20.0
    assert explain.time_scale_of("harmone manage -w /x") is None


def test_lineage_names_the_run_that_made_each_version_and_an_empty_workspace_says_what_to_run(
        tmp_path: Path) -> None:
    from conftest import make_workspace

    from harmone import lifecycle

    workspace = make_workspace(tmp_path / "ws", n=600)
    start = views.getting_started(workspace)
    assert start["empty"] and [s["done"] for s in start["steps"]] == [True, False, False]
    assert "harmone train -w" in start["steps"][1]["command"]
    lifecycle.train_initial(workspace, ["linear"])
    lifecycle.train_initial(workspace, ["linear"])
    with KnowledgeStore(workspace.db_path) as store:
        store.append_predictions(_rows(np.arange(10.0)))
        store.record_event(Event(time_s=5.0, loop=LoopName.DRIFT, action=Action.RETRAIN, model="linear", version=1,
                                 decision=Decision.RETRAIN_NO_CLOSE_VERSION, energy_uj=9.0,
                                 observed={"drift_detected": True, "last_row_id": 8, "new_version": 2,
                                           "holdout_r2": 0.93, "n_train_values": 1500, "promoted": True,
                                           "train_energy_uj": 8.0}))
    history = History(workspace)
    history.catch_up()
    linear = views.models(workspace, history)["kinds"][0]
    made = {v["version"]: v["made_by"] for v in linear["versions"]}
    assert made[1] is None  # trained by `harmone train`: its reason says so
    assert made[2]["loop"] == "drift" and made[2]["decision"] == "retrain-no-close-version"
    assert made[2]["row"] == 8 and made[2]["values"] == 1500
    assert not views.getting_started(workspace)["empty"]
