"""The loops: schedules, incremental reads, decisions acted on, state persisted, energy recorded."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest

from harmone.approaches import get_approach
from harmone.config import Config
from harmone.knowledge import Event, KnowledgeStore, PredictionRow
from harmone.mape import execute
from harmone.mape.execute import InlineRetrainer, RetrainRequest, RetrainResult
from harmone.knowledge import count_events
from harmone.knowledge.events import RetrainFigures
from harmone.mape.drift_loop import DriftLoop
from harmone.mape.retrain_loop import RetrainLoop
from harmone.mape.switch_loop import SwitchLoop
from harmone.mape.manager import Manager, build_manager
from harmone.repository import ModelRepository
from harmone.testing import FakeMeter
from harmone.workspace import Workspace

from conftest import FAST_CONFIG, PUBLISHED_MODELS, make_workspace

WINDOW = 200


def _config(workspace: Workspace, **sections: dict[str, object]) -> Config:
    base = workspace.config
    changed = {name: dataclasses.replace(getattr(base, name), **values) for name, values in sections.items()}
    return base.replace(**changed)


def normal(mean: float, n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 10.0, n)


def _add_version(workspace: Workspace, kind: str, values: np.ndarray) -> int:
    return execute.retrain_version(workspace, RetrainRequest(kind, values, "initial", 0), workspace.config).version


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """linear and svm each with one version trained on N(200, 10); linear serves.

    Published representation: these checks need a version that does not carry over to a new level.
    """
    workspace = make_workspace(tmp_path / "ws", config_edits={**FAST_CONFIG, **PUBLISHED_MODELS})
    _add_version(workspace, "linear", normal(200, 600))
    _add_version(workspace, "svm", normal(200, 600, seed=1))
    workspace.write_active_model("linear")
    return workspace


def rows(model: str, true: np.ndarray, predicted: np.ndarray | None = None, *, version: int = 1,
         energy_uj: float = 10.0) -> list[PredictionRow]:
    predicted = true if predicted is None else predicted
    return [(float(i), float(t), float(p), model, version, 1e-5, energy_uj)
            for i, (t, p) in enumerate(zip(true, predicted))]


def _switch_loop(ws: Workspace, store: KnowledgeStore, now: float = 0.0, **switch: object) -> SwitchLoop:
    config = _config(ws, switch={"explore_probability": 0.0, **switch})
    return SwitchLoop(workspace=ws, store=store, meter=FakeMeter(), config=config, now=now, rng=random.Random(0))


# -- switch loop ---------------------------------------------------------------------------

def test_switch_loop_runs_one_interval_after_start_then_at_a_fixed_rate(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        loop = _switch_loop(ws, store, now=100.0)
        assert not loop.due(139.9) and loop.due(140.0)
        loop.run(140.0)
        assert loop.next_due_s == 180.0
        loop.run(190.0)  # a little late: the period stays anchored to the due times
        assert loop.next_due_s == 220.0
        loop.run(300.0)  # missed a whole period: one interval after now, not a burst of runs
        assert loop.next_due_s == 340.0


def test_a_score_violation_switches_to_the_best_trained_model_and_persists_the_state(ws: Workspace) -> None:
    true = normal(200, 100, seed=2)
    with KnowledgeStore(ws.db_path) as store:
        loop = _switch_loop(ws, store)
        # linear predicts noise: R² << 0, so its EMA falls below min_score.
        store.append_predictions(rows("linear", true, normal(200, 100, seed=3)))
        event = loop.run(40.0)
        assert event is not None and event.id is not None
        # lstm starts with the highest EMA (0.82) but is not trained, so svm (0.79) is chosen.
        assert (event.loop, event.action, event.model, event.version) == ("switch", "switch", "svm", 1)
        assert event.decision == "score-violation"
        assert event.observed["rows"] == 100 and event.observed["r2"] < 0
        assert ws.read_active_model() == "svm"
        stored = store.get_state("switch_loop")
        assert stored["state"]["last_row_id"] == 100
        assert stored["state"]["ema"]["linear"] == pytest.approx(event.observed["ema"])
        assert stored["state"]["ema"]["linear"] < 0.78
        assert stored["counts"] == {"runs": 1, "switches": 1}
        assert [e.to_dict() for e in store.events()] == [event.to_dict()]


def test_each_run_reads_only_the_rows_logged_since_the_previous_one(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        store.append_predictions(rows("linear", normal(200, 500)))  # before the loop existed
        loop = _switch_loop(ws, store)
        assert loop.run(40.0).observed["rows"] == 0
        store.append_predictions(rows("linear", normal(200, 30)))
        event = loop.run(80.0)
        assert (event.observed["rows"], event.observed["first_row_id"], event.observed["last_row_id"]) == (30, 501, 530)
        store.append_predictions(rows("svm", normal(200, 20)))
        event = loop.run(120.0)
        assert (event.observed["rows"], event.observed["first_row_id"]) == (20, 531)
        # Rows are credited to the model that served them: only svm's EMA moved this time.
        assert set(event.observed["per_model"]) == {"svm"}


def test_a_restarted_switch_loop_continues_its_state_and_schedule(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        first = _switch_loop(ws, store)
        store.append_predictions(rows("linear", normal(200, 50), normal(200, 50, seed=4)))
        first.run(40.0)
        again = _switch_loop(ws, store, now=1000.0)
        assert again.next_due_s == 80.0
        assert again.state == first.state
        assert again.counts == first.counts


def test_the_switch_loop_records_the_energy_of_its_run(ws: Workspace) -> None:
    meter = FakeMeter()

    class Slow(SwitchLoop):
        def _run(self, now: float):  # type: ignore[no-untyped-def]
            meter.advance(123.0)
            return super()._run(now)

    with KnowledgeStore(ws.db_path) as store:
        loop = Slow(workspace=ws, store=store, meter=meter, config=ws.config, now=0.0, rng=random.Random(0))
        assert loop.run(40.0).energy_uj == 123.0


def test_the_model_meter_charges_a_run_and_the_rows_it_read_inside_the_runs_window(ws: Workspace) -> None:
    """Through the loops' ``costs`` seam: the event's energy is the run's modelled cost, rows included."""
    from harmone.energy.model import ModelMeter, load_energy_model

    meter = ModelMeter(load_energy_model())
    with KnowledgeStore(ws.db_path) as store:
        loop = SwitchLoop(workspace=ws, store=store, meter=meter, config=ws.config, now=0.0, rng=random.Random(0),
                          costs=meter)
        store.append_predictions(rows("linear", normal(200, 30)))
        event = loop.run(40.0)
    assert event.observed["rows"] == 30
    assert event.energy_uj == pytest.approx(meter.model.loop_run("switch", 30), rel=1e-12)
    assert meter.model.loop_run("switch", 30) > meter.model.loop_run("switch", 0)
    assert meter.read_uj() == pytest.approx(event.energy_uj, rel=1e-12)


def test_beside_a_quiet_drift_loop_only_the_best_cheap_model_waits(ws: Workspace) -> None:
    from harmone.energy.model import EnergyModel

    costs = EnergyModel(name="t", prediction_uj={"linear": 10.0, "svm": 12.0, "lstm": 100.0}, retraining_uj={},
                        loop_run_uj=dict.fromkeys(("switch", "drift", "retrain"), 0.0))
    costs.calibration().save(ws.calibration_path)
    drift_score: list[float | None] = [0.0]

    def loop_beside_drift(store: KnowledgeStore, **switch: object) -> SwitchLoop:
        config = _config(ws, switch={"explore_probability": 0.0, "quiet_every": 16, **switch})
        return SwitchLoop(workspace=ws, store=store, meter=FakeMeter(), config=config, now=0.0,
                          rng=random.Random(0), drift_score=lambda: drift_score[0])

    with KnowledgeStore(ws.db_path) as store:
        loop = loop_beside_drift(store)
        store.append_predictions(rows("linear", normal(200, 100)))  # linear predicts perfectly: the best
        loop.run(40.0)
        # The detector sees nothing building up: the next run comes quiet_every periods later.
        assert loop.wait_periods("linear") == 16 and loop.next_due_s == 40.0 + 16 * 40.0
        # A worse model, one just switched to, and a score near the detector's threshold run every period.
        assert loop.wait_periods("svm") == 1 and loop.wait_periods("linear", switched=True) == 1
        drift_score[0] = 0.74
        assert loop.wait_periods("linear") == 1
        drift_score[0] = 0.375 / 2  # half-way to the limit (quiet_below x threshold): half the wait
        assert loop.wait_periods("linear") == 8
        # As published, and without a drift loop beside it, every period.
        assert loop_beside_drift(store, quiet_every=1).wait_periods("linear") == 1
        assert _switch_loop(ws, store).wait_periods("linear") == 1


def test_only_an_approach_with_a_drift_loop_paces_its_switch_loop(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        for name, paced in (("harmone", True), ("switch", False)):
            manager = build_manager(ws, get_approach(name), store=store, meter=FakeMeter(),
                                    retrainer=InlineRetrainer(ws, ws.config), now=0.0)
            switch = next(loop for loop in manager.loops if isinstance(loop, SwitchLoop))
            assert (switch.drift_score is not None) == paced
            assert [str(loop.name) for loop in manager.loops][0] == "switch"


# -- drift loop ----------------------------------------------------------------------------

def _drift_loop(ws: Workspace, store: KnowledgeStore, *, retrainer: execute.Retrainer | None = None,
                meter: FakeMeter | None = None, now: float = 0.0) -> DriftLoop:
    # One answering kind and the whole window, as published: these tests pin those rules
    # (reuse across kinds and one-regime drift data: tests/test_adaptation.py).
    config = _config(ws, drift={"window": WINDOW, "bins": 10, "reuse_scope": "target", "split_regime": False})
    return DriftLoop(workspace=ws, store=store, meter=meter or FakeMeter(), config=config, now=now,
                     retrainer=retrainer or InlineRetrainer(ws, config))


def test_drift_loop_waits_the_warm_up_then_checks_every_interval(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        loop = _drift_loop(ws, store, now=10.0)
        assert loop.next_due_s == 410.0 and not loop.due(409.0)
        store.append_predictions(rows("linear", normal(200, WINDOW)))
        event = loop.run(410.0)
        assert (event.loop, event.action, event.decision) == ("drift", "none", "not-ready")
        store.append_predictions(rows("linear", normal(200, WINDOW, seed=1)))
        event = loop.run(413.0)
        assert event.decision == "no-drift" and event.observed["detector_score"] < 0.75
        # A quiet check (KL below drift.quiet_below of the threshold) waits a few periods.
        assert 1 < loop.wait_periods() <= loop.config.drift.quiet_every
        assert loop.next_due_s == 413.0 + loop.wait_periods() * 3.0
        event = loop.run(416.0)  # nothing new was logged: nothing is read again
        assert event.decision == "no-new-data"


def test_drift_check_after_a_long_pause_judges_the_newest_windows(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        loop = _drift_loop(ws, store)
        store.append_predictions(rows("linear", normal(200, 2 * WINDOW)))
        assert loop.run(400.0).decision == "no-drift"
        # A long backlog: only its newest 2 x window values matter, and they hold drift.
        store.append_predictions(rows("linear", normal(200, 5 * WINDOW, seed=2)))
        store.append_predictions(rows("linear", normal(600, WINDOW, seed=3)))
        event = loop.run(403.0)
        assert event.observed["drift_detected"] and event.observed["values"] == 2 * WINDOW
        np.testing.assert_allclose(ModelRepository(ws).snapshot("linear", 2), normal(600, WINDOW, seed=3))


def test_drift_check_starts_over_when_the_log_is_cleared(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        loop = _drift_loop(ws, store)
        store.append_predictions(rows("linear", normal(200, WINDOW)))
        store.append_predictions(rows("linear", normal(600, 3 * WINDOW, seed=5)))
        assert loop.run(400.0).decision == "no-drift"  # the last two windows are both the new level
        store.clear()
        # Row ids start over below where the loop had read to; the old values must not count.
        store.append_predictions(rows("linear", normal(200, WINDOW, seed=6)))
        event = loop.run(403.0)
        assert event.decision == "not-ready" and event.observed["values"] == WINDOW


def test_frugal_drift_answer_retrains_the_cheap_fallback_not_the_costly_serving_model(ws: Workspace) -> None:
    from harmone.energy.calibrate import Calibration

    Calibration(energy_uj_per_prediction={"linear": 20.0, "svm": 90.0}, duration_s_per_prediction={},
                e_min_uj=0.0, e_max_uj=100.0, meter_kind="estimated", meter_source="test", predictions=100,
                headroom=1.25).save(ws.calibration_path)
    ws.write_active_model("svm")
    repo = ModelRepository(ws)
    with KnowledgeStore(ws.db_path) as store:
        config = _config(ws, drift={"window": WINDOW, "bins": 10})
        loop = DriftLoop(workspace=ws, store=store, meter=FakeMeter(), config=config, now=0.0,
                         retrainer=InlineRetrainer(ws, config))
        store.append_predictions(rows("svm", normal(200, WINDOW)))
        store.append_predictions(rows("svm", normal(600, WINDOW, seed=5)))
        event = loop.run(400.0)
    assert (event.action, event.model, event.version) == ("retrain", "linear", 2)
    assert event.observed["serving_model"] == "svm" and event.observed["target"] == "best-model-within-energy-goal"
    assert repo.versions("svm") == [1] and repo.active_version("linear") == 2
    assert ws.read_active_model() == "svm"  # which model serves stays the switch loop's call


def test_drift_on_a_single_version_retrains_on_the_drift_data_then_cools_down(ws: Workspace) -> None:
    repo = ModelRepository(ws)
    with KnowledgeStore(ws.db_path) as store:
        loop = _drift_loop(ws, store)
        store.append_predictions(rows("linear", normal(200, WINDOW)))
        store.append_predictions(rows("linear", normal(600, WINDOW, seed=5)))
        event = loop.run(400.0)
        assert (event.action, event.decision, event.model, event.version) == (
            "retrain", "retrain-no-other-version", "linear", 2)
        assert event.observed["drift_detected"] and event.observed["detector_score"] > 0.75
        assert event.outcome == "promoted" and event.retraining is not None
        assert (event.retraining.new_version, event.retraining.promoted, event.retraining.n_train_values) == (
            2, True, WINDOW)
        assert repo.active_version("linear") == 2 and repo.meta("linear", 2)["reason"] == "drift"
        np.testing.assert_allclose(repo.snapshot("linear", 2), normal(600, WINDOW, seed=5))
        assert loop.next_due_s == 400.0 + ws.config.drift.cooldown_s
        assert store.get_state("drift_loop")["counts"] == {"runs": 1, "detections": 1, "retrains": 1}


def test_when_the_stream_returns_the_closest_older_version_is_reused(ws: Workspace) -> None:
    repo = ModelRepository(ws)
    with KnowledgeStore(ws.db_path) as store:
        loop = _drift_loop(ws, store)
        store.append_predictions(rows("linear", normal(200, WINDOW)))
        store.append_predictions(rows("linear", normal(600, WINDOW, seed=5)))
        assert loop.run(400.0).action == "retrain"
        store.append_predictions(rows("linear", normal(200, WINDOW, seed=6), version=2))
        event = loop.run(800.0)
        assert (event.action, event.decision, event.version) == ("reuse", "reuse", 1)
        assert event.observed["version_kls"]["1"] < 0.75 < event.observed["version_kls"]["2"]
        assert repo.active_version("linear") == 1
        assert repo.versions("linear") == [1, 2]  # nothing was trained


def test_drift_uses_the_serving_models_versions(ws: Workspace) -> None:
    ws.write_active_model("svm")
    with KnowledgeStore(ws.db_path) as store:
        loop = _drift_loop(ws, store)
        store.append_predictions(rows("svm", normal(200, WINDOW)))
        store.append_predictions(rows("svm", normal(600, WINDOW, seed=5)))
        event = loop.run(400.0)
    assert (event.model, event.version) == ("svm", 2)
    assert ModelRepository(ws).versions("linear") == [1]


class _LaterJob:
    """A retraining running elsewhere: finishes when told, with energy measured there."""

    external = True

    def __init__(self, request: RetrainRequest, version: int) -> None:
        self.request = request
        self.version = version
        self.finished = False
        self.cancelled = False

    def poll(self) -> RetrainResult | None:
        if not self.finished:
            return None
        return RetrainResult(kind=self.request.kind, version=self.version, energy_uj=7000.0, meter_kind="estimated",
                             meter_source="child", train_time_s=1.5, holdout_r2=0.9, n_values=len(self.request.data))

    def cancel(self) -> None:
        self.cancelled = True


class _LaterRetrainer:
    def __init__(self, meter: FakeMeter) -> None:
        self.meter = meter
        self.jobs: list[_LaterJob] = []

    def submit(self, request: RetrainRequest) -> _LaterJob:
        self.meter.advance(100.0)  # the cost of starting the job, in this process
        self.jobs.append(_LaterJob(request, version=2))
        return self.jobs[-1]


def _drifted_loop_with_background_retraining(ws: Workspace, store: KnowledgeStore) -> tuple[DriftLoop, _LaterRetrainer]:
    """A drift loop over a log whose last window clearly drifted, retraining 'elsewhere'."""
    meter = FakeMeter()
    retrainer = _LaterRetrainer(meter)
    loop = _drift_loop(ws, store, retrainer=retrainer, meter=meter)
    store.append_predictions(rows("linear", normal(200, WINDOW)))
    store.append_predictions(rows("linear", normal(600, WINDOW, seed=5)))
    return loop, retrainer


def test_a_background_retraining_is_recorded_when_it_ends_with_its_energy_and_cooldown(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        loop, retrainer = _drifted_loop_with_background_retraining(ws, store)
        assert loop.run(400.0) is None
        assert loop.pending and not loop.due(10_000.0)
        assert loop.poll(420.0) is None and store.events() == []
        retrainer.jobs[0].finished = True
        event = loop.poll(430.0)
        assert event is not None and not loop.pending
        assert (event.action, event.version, event.time_s) == ("retrain", 2, 430.0)
        assert event.energy_uj == 7100.0  # start-up here + training in the child
        assert event.observed["started_s"] == 400.0
        assert event.retraining is not None and event.retraining.train_meter == "child"
        # The cooldown counts from the end of the action, not from the check.
        assert loop.next_due_s == 430.0 + ws.config.drift.cooldown_s


def test_cancelling_a_loop_cancels_its_job_and_records_nothing(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        loop, retrainer = _drifted_loop_with_background_retraining(ws, store)
        loop.run(400.0)
        loop.cancel()
        assert retrainer.jobs[0].cancelled and not loop.pending
        assert store.events() == []


# -- periodic retraining -------------------------------------------------------------------

def test_periodic_retraining_runs_every_interval_on_the_latest_window(ws: Workspace) -> None:
    config = _config(ws, retrain={"training_values": 100, "interval_s": 50.0})
    repo = ModelRepository(ws)
    with KnowledgeStore(ws.db_path) as store:
        loop = RetrainLoop(workspace=ws, store=store, meter=FakeMeter(), config=config, now=0.0,
                           retrainer=InlineRetrainer(ws, config), model="svm")
        assert loop.next_due_s == 50.0
        store.append_predictions(rows("linear", normal(200, 60)))
        event = loop.run(50.0)
        assert (event.action, event.decision) == ("none", "not-enough-data")
        assert event.figures == RetrainFigures(values=60, active_version=1)
        store.append_predictions(rows("linear", normal(300, 150, seed=8)))
        event = loop.run(100.0)
        assert (event.loop, event.action, event.model, event.version) == ("retrain", "retrain", "svm", 2)
        assert loop.next_due_s == 150.0
    # The fixed model is retrained although model.csv names another; on the newest values.
    assert ws.read_active_model() == "linear"
    assert repo.meta("svm", 2)["reason"] == "periodic"
    np.testing.assert_allclose(repo.snapshot("svm", 2), normal(300, 150, seed=8)[-100:])


# -- manager -------------------------------------------------------------------------------

def test_manager_runs_the_approachs_loops_when_due(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        manager = build_manager(ws, get_approach("harmone"), store=store, meter=FakeMeter(),
                                retrainer=InlineRetrainer(ws, ws.config), now=0.0)
        assert [loop.name for loop in manager.loops] == ["switch", "drift"]
        assert manager.next_due_s == 40.0 and not manager.due(39.0)
        assert manager.tick(39.0) == []
        events = manager.tick(40.0)
        assert [e.loop for e in events] == ["switch"]
        assert manager.next_due_s == 80.0
        events = manager.tick(400.0)
        assert [e.loop for e in events] == ["switch", "drift"]

        single = build_manager(ws, get_approach("single-svm+retrain"), store=store, meter=FakeMeter(),
                               retrainer=InlineRetrainer(ws, ws.config), now=0.0)
        assert [loop.name for loop in single.loops] == ["retrain"]
        assert single.next_due_s == ws.config.retrain.interval_s
        assert build_manager(ws, get_approach("single-svm"), store=store, meter=FakeMeter(),
                             retrainer=InlineRetrainer(ws, ws.config), now=0.0).next_due_s == float("inf")


def test_a_manager_refuses_loops_its_approach_does_not_run(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        loop = _switch_loop(ws, store)
        with pytest.raises(ValueError, match="single-svm"):
            Manager(get_approach("single-svm"), [loop])


def test_a_live_manager_records_a_failing_run_and_keeps_going(ws: Workspace) -> None:
    from harmone.errors import WorkspaceError

    class Broken(SwitchLoop):
        def _run(self, now: float):  # type: ignore[no-untyped-def]
            raise WorkspaceError("knowledge/knowledge.db: database is locked")

    with KnowledgeStore(ws.db_path) as store:
        loop = Broken(workspace=ws, store=store, meter=FakeMeter(), config=ws.config, now=0.0, rng=random.Random(0))
        with pytest.raises(WorkspaceError):
            Manager(get_approach("switch"), [loop]).tick(40.0)
        live = Manager(get_approach("switch"), [loop], tolerate_errors=True)
        [event] = live.tick(40.0)
        assert (event.action, event.decision) == ("none", "error")
        assert "database is locked" in event.observed["error"]
        assert live.next_due_s == 80.0  # reported once per period, not on every tick


def test_a_restarted_manager_continues_the_stored_clock(ws: Workspace) -> None:
    from harmone.clock import SimulatedClock
    from harmone.mape.manager import continued_clock, save_clock

    with KnowledgeStore(ws.db_path) as store:
        assert continued_clock(store, time_scale=10.0).now() < 1.0  # nothing stored: starts at 0
        save_clock(store, SimulatedClock(start=500.0))
        clock = continued_clock(store, time_scale=10.0)
        assert 500.0 <= clock.now() < 510.0
        assert clock.time_scale == 10.0


def test_loop_status_shows_emas_budget_recovery_schedules_and_counts(ws: Workspace) -> None:
    from harmone.mape.state import set_approach
    from harmone.status import read_loops

    set_approach(ws, "harmone")
    with KnowledgeStore(ws.db_path) as store:
        before = read_loops(store, ws.config).to_dict()
        assert before["approach"] == "harmone" and before["loops"] == ["drift", "switch"]
        assert before["switch"]["ema"] == {"lstm": 0.82, "svm": 0.79, "linear": 0.75}
        assert before["drift"] is None
        manager = build_manager(ws, get_approach("harmone"), store=store, meter=FakeMeter(),
                                retrainer=InlineRetrainer(ws, ws.config), now=0.0)
        store.append_predictions(rows("linear", normal(200, 50), normal(200, 50, seed=9)))
        manager.tick(40.0)
        status = read_loops(store, ws.config).to_dict()
    assert status["switch"]["ema"]["linear"] < 0.75
    assert status["switch"]["budget"] == 1.0 and status["switch"]["recovery"] == 0
    assert status["switch"]["next_due_s"] == 80.0 and status["switch"]["counts"]["runs"] == 1
    assert status["drift"]["next_due_s"] == ws.config.drift.warmup_s


def test_event_totals_split_retraining_from_the_other_loop_runs() -> None:
    def event(loop: str, action: str, energy_uj: float, **observed: object) -> Event:
        return Event(time_s=0.0, loop=loop, action=action, model="svm", version=1, energy_uj=energy_uj,
                     decision="scheduled" if action == "retrain" else "ok", observed=dict(observed))

    totals = count_events([event("switch", "switch", 10.0), event("drift", "none", 5.0),
                           event("drift", "retrain", 100.0, drift_detected=True), event("drift", "reuse", 2.0,
                                                                                        drift_detected=True),
                           event("retrain", "retrain", 50.0)])
    assert (totals.switches, totals.reuses, totals.retrains, totals.drift_detections) == (1, 1, 2, 2)
    assert totals.energy_uj == 167.0 and totals.retraining_energy_uj == 150.0
    assert totals.by_loop == {"switch": 1, "drift": 3, "retrain": 1}


def test_at_the_live_boundary_any_exception_becomes_an_error_event_and_serving_goes_on(ws: Workspace) -> None:
    class Buggy(SwitchLoop):
        def _run(self, now: float):  # type: ignore[no-untyped-def]
            raise ZeroDivisionError("float division by zero")

    with KnowledgeStore(ws.db_path) as store:
        loop = Buggy(workspace=ws, store=store, meter=FakeMeter(), config=ws.config, now=0.0, rng=random.Random(0))
        live = Manager(get_approach("switch"), [loop], tolerate_errors=True)
        [event] = live.tick(40.0)
        assert (event.loop, event.action, event.decision, event.outcome) == ("switch", "none", "error", None)
        assert event.error == "ZeroDivisionError: float division by zero"
        assert loop.counts.errors == 1 and store.loop_state(loop.name).counts.errors == 1
        assert [e.decision for e in store.events()] == ["error"]
        assert live.next_due_s == 80.0
        with pytest.raises(ZeroDivisionError):
            Manager(get_approach("switch"), [loop]).tick(80.0)  # a simulated run lets it surface


def test_an_energy_range_set_upside_down_in_code_is_an_error_event_not_a_crash(ws: Workspace) -> None:
    with KnowledgeStore(ws.db_path) as store:
        loop = SwitchLoop(workspace=ws, store=store, meter=FakeMeter(), config=ws.config, now=0.0,
                          rng=random.Random(0), energy_range_uj=(30_000.0, 25_000.0))
        store.append_predictions(rows("linear", normal(200, 50)))
        [event] = Manager(get_approach("switch"), [loop], tolerate_errors=True).tick(40.0)
    assert event.decision == "error" and "e_min_uj" in event.error


def test_when_even_recording_the_error_fails_the_manager_still_goes_on(ws: Workspace,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    class Buggy(SwitchLoop):
        def _run(self, now: float):  # type: ignore[no-untyped-def]
            raise KeyError("ema")

    def locked(*args: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    with KnowledgeStore(ws.db_path) as store:
        loop = Buggy(workspace=ws, store=store, meter=FakeMeter(), config=ws.config, now=0.0, rng=random.Random(0))
        monkeypatch.setattr(store, "record_event", locked)
        [event] = Manager(get_approach("switch"), [loop], tolerate_errors=True).tick(40.0)
    assert event.id is None and event.decision == "error"
    assert event.observed == {"error": "KeyError: 'ema'", "not_recorded": "OperationalError: database is locked"}
    assert loop.next_due_s == 80.0


def test_a_failed_retraining_is_an_outcome_not_a_decision_suffix(ws: Workspace) -> None:
    from harmone.mape.execute import RetrainError

    class Failing(_LaterJob):
        def poll(self) -> RetrainResult | None:
            raise RetrainError("retraining linear failed (exit code 1): out of memory")

    class FailingRetrainer:
        def submit(self, request: RetrainRequest) -> _LaterJob:
            return Failing(request, version=2)

    with KnowledgeStore(ws.db_path) as store:
        loop = _drift_loop(ws, store, retrainer=FailingRetrainer())
        store.append_predictions(rows("linear", normal(200, WINDOW)))
        store.append_predictions(rows("linear", normal(600, WINDOW, seed=5)))
        event = loop.run(400.0)
        assert event is not None and (event.action, event.decision, event.outcome) == (
            "none", "retrain-no-other-version", "failed")
        assert event.error is not None and "out of memory" in event.error and event.retraining is None
        assert loop.counts.failures == 1 and count_events(store.events()).failures == 1
        assert ModelRepository(ws).active_version("linear") == 1


def test_a_detector_fed_errors_ignores_a_shift_the_serving_model_tracks(ws: Workspace) -> None:
    level_shift = np.concatenate([normal(200, WINDOW), normal(600, WINDOW, seed=5)])
    with KnowledgeStore(ws.db_path) as store:
        store.append_predictions(rows("linear", level_shift, level_shift + 1.0))  # always 1 off: errors constant
        on_values = _drift_loop(ws, store)
        assert on_values.run(400.0).observed["drift_detected"]
        config = _config(ws, drift={"window": WINDOW, "bins": 10, "feed": "errors"})
        on_errors = DriftLoop(workspace=ws, store=store, meter=FakeMeter(), config=config, now=0.0,
                              retrainer=InlineRetrainer(ws, config))
        event = on_errors.run(403.0)
    assert event is not None and event.decision == "no-drift" and event.observed["detector_score"] == 0.0
    assert event.observed["values"] == 2 * WINDOW
