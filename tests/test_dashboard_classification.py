"""The dashboard on a classification stream, as a browser gets it: every page's JSON names the task's
figures (accuracy, Kappa-temporal over no-change, error rate) and none names R², MSE, MAE or
persistence; the rolling figures are the task's own functions over the newest predictions; the
Prometheus gauges are named for the task."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from classification_helpers import digits_workspace
from dashboard_helpers import client
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from harmone.dashboard import Dashboard
from harmone.dashboard.series import ROLLING_WINDOW
from harmone.knowledge import Action, Decision, Event, KnowledgeStore, LoopName
from harmone.metrics import accuracy, kappa_temporal
from harmone.report.tables import results_rows
from harmone.runner import run_approach
from harmone.status import RECENT_ROWS
from harmone.testing import FakeMeter

#: What only a forecasting stream's pages may say.
FORECASTING_WORDS = ("R²", "MSE", "MAE", "persistence")
PAGES = ("/api/session", "/api/live", "/api/history", "/api/decisions", "/api/approach", "/api/models",
         "/api/experiments", "/api/start")


@pytest.fixture(scope="module")
def digits_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, TestClient]]:
    workspace = digits_workspace(tmp_path_factory.mktemp("digits-dashboard") / "ws")
    result = run_approach(workspace, "harmone", seed=1, simulate=True, meter=FakeMeter())
    assert result.retrains > 0  # validated adaptation left held-out accuracies and error rates to show
    with KnowledgeStore(workspace.db_path) as store:  # a switch run whose batch lost to no-change
        store.record_event(Event(time_s=9e9, loop=LoopName.SWITCH, action=Action.SWITCH, model="logistic", version=1,
                                 decision=Decision.SCORE_VIOLATION,
                                 observed={"r2": 0.41, "ema": 0.95, "normalised_energy": 0.2, "target": "cnn-small"}))
    folder = workspace.root / "experiment"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(results_rows([result], seed=1, meter={})), encoding="utf-8")
    (folder / "run.json").write_text(json.dumps({"seed": 1, "task": "classification"}), encoding="utf-8")
    dashboard = Dashboard(workspace)
    yield dashboard, client(dashboard)
    dashboard.close()


def _shown(answer_text: str) -> str:
    """An answer as the page reads it (JSON escapes undone), without the stored decision name the
    decision filter sends back (``below-persistence``: the page shows ``decision_names``)."""
    return json.dumps(json.loads(answer_text), ensure_ascii=False).replace('"below-persistence"', "")


def test_every_answer_names_accuracy_and_kappa_temporal_and_none_names_r2(
        digits_dashboard: tuple[Dashboard, TestClient]) -> None:
    _, browser = digits_dashboard
    answers = {}
    for path in PAGES:
        answer = browser.get(path)
        assert answer.status_code == 200, path
        answers[path] = _shown(answer.text)
        assert not [word for word in FORECASTING_WORDS if word in answers[path]], path
    session = browser.get("/api/session").json()["task"]
    assert (session["metric"], session["skill"], session["baseline"], session["error"]) == \
        ("accuracy", "kappa-temporal", "no-change", "error rate")
    assert session["skill_over"] == "kappa-temporal over no-change" and session["values"] is False
    assert session["window"] == ROLLING_WINDOW and set(session["kinds"]) == {"cnn-large", "cnn-small", "logistic"}

    approach = browser.get("/api/approach").json()
    listed = [a["name"] for a in approach["approaches"]]
    assert listed[:3] == ["harmone", "switch", "switch+retrain"] and "single-logistic+retrain" in listed
    assert not [name for name in listed if any(kind in name for kind in ("lstm", "svm", "linear", "persistence"))]

    experiment = browser.get("/api/experiments").json()["experiments"][0]
    assert (experiment["words"]["metric"], experiment["words"]["skill"], experiment["words"]["error"]) == \
        ("accuracy", "kappa-temporal", "error rate")


def test_the_rolling_figures_are_the_tasks_functions_over_the_newest_predictions(
        digits_dashboard: tuple[Dashboard, TestClient]) -> None:
    dashboard, browser = digits_dashboard
    live = browser.get("/api/live").json()["rows"]
    assert "r2" not in live and len(live["metric"]) == len(live["id"]) > ROLLING_WINDOW
    with KnowledgeStore.open_readonly(dashboard.workspace.db_path) as store:
        rows = store.predictions_after(0)
    truth, predicted = rows.true_value, rows.predicted_value
    assert live["metric"][-1] == pytest.approx(accuracy(truth[-ROLLING_WINDOW:], predicted[-ROLLING_WINDOW:]),
                                               abs=1e-4)
    assert live["skill"][-1] == pytest.approx(kappa_temporal(truth[-ROLLING_WINDOW:], predicted[-ROLLING_WINDOW:],
                                                             truth[-ROLLING_WINDOW - 1:-1]), abs=1e-4)
    middle = len(live["id"]) // 2  # any row: a window of the predictions ending there
    end = live["id"][middle]
    window = slice(end - ROLLING_WINDOW, end)
    assert live["metric"][middle] == pytest.approx(accuracy(truth[window], predicted[window]), abs=1e-4)
    assert 0.0 <= min(v for v in live["metric"] if v is not None) and max(live["metric"]) <= 1.0

    recent = browser.get("/api/approach").json()["recent_metric"]
    assert recent == pytest.approx(accuracy(truth[-RECENT_ROWS:], predicted[-RECENT_ROWS:]), rel=1e-9)


def test_decisions_name_held_out_accuracy_and_error_rate(digits_dashboard: tuple[Dashboard, TestClient]) -> None:
    _, browser = digits_dashboard
    events = browser.get("/api/decisions").json()["events"]
    retrained = [e for e in events if "new version's held-out accuracy" in e["seen"]]
    assert retrained and all("holdout_r2" not in e["seen"] for e in events)
    compared = {item["what"] for e in events for item in e["compared"]}
    assert "new version's held-out accuracy" in compared and "candidate error rate" in compared
    assert browser.get("/api/decisions").json()["decision_names"]["below-persistence"] == "below-no-change"
    violation = next(e for e in events if e["decision"] == "score-violation")
    assert violation["seen"]["accuracy"] == 0.41
    assert "worse than no-change (kappa-temporal below 0)" in violation["why"]


def test_prometheus_names_the_rolling_gauges_for_the_task(digits_dashboard: tuple[Dashboard, TestClient]) -> None:
    dashboard, browser = digits_dashboard
    answer = browser.get("/metrics")
    assert answer.status_code == 200
    found = {sample.name: sample.value for family in text_string_to_metric_families(answer.text)
             for sample in family.samples}
    assert "harmone_rolling_r2" not in found and "harmone_rolling_skill" not in found
    with KnowledgeStore.open_readonly(dashboard.workspace.db_path) as store:
        recent = store.latest_predictions(RECENT_ROWS + 1)
    truth, predicted = recent.true_value[1:], recent.predicted_value[1:]
    assert found["harmone_rolling_accuracy"] == pytest.approx(accuracy(truth, predicted), rel=1e-9)
    assert found["harmone_rolling_kappa_temporal"] == pytest.approx(
        kappa_temporal(truth, predicted, recent.true_value[:-1]), rel=1e-9)
    assert "R²" not in answer.text and "persistence" not in answer.text
    assert np.isfinite(found["harmone_rolling_kappa_temporal"])
