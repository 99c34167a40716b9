from __future__ import annotations

import numpy as np
import pytest

from harmone.clock import SimulatedClock
from harmone.data.series import read_series
from harmone.errors import ModelError
from harmone.inference import InferenceEngine
from harmone.knowledge import KnowledgeStore
from harmone.repository import ModelRepository, ServingModel
from harmone.session import Session
from harmone.testing import FakeMeter
from harmone.workspace import Workspace


def _engine(workspace: Workspace, store: KnowledgeStore, meter: FakeMeter | None = None,
            warnings: list[str] | None = None) -> InferenceEngine:
    sink = warnings if warnings is not None else []
    return InferenceEngine.for_workspace(workspace, store=store, meter=meter or FakeMeter(), clock=SimulatedClock(),
                                         warn=sink.append)


def _run(engine: InferenceEngine, steps: int) -> None:
    for _ in range(steps):
        engine.step()
    engine.flush()


def test_predicts_the_next_value_from_the_last_window_with_the_versions_scaler(trained_workspace: Workspace) -> None:
    test = read_series(trained_workspace.test_path)
    serving = ModelRepository(trained_workspace).load_active("linear")
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store)
        first = engine.step()
        assert first is not None
        assert first.true_value == test[5]
        assert first.predicted_value == pytest.approx(serving.predict(test[None, 0:5])[0])
        assert (first.model, first.version) == ("linear", 1)


def test_follows_a_change_of_model_csv_within_one_check_period(trained_workspace: Workspace) -> None:
    period_s = trained_workspace.config.stream.model_check_s
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store)
        assert engine.step().model == "linear"
        trained_workspace.write_active_model("svm")
        # Not yet: checking after every prediction of a live stream costs more than the prediction.
        engine.clock.advance(period_s / 2)
        assert engine.step().model == "linear"
        engine.clock.advance(period_s / 2)
        assert engine.step().model == "svm"
        trained_workspace.write_active_model("linear")
        engine.clock.advance(period_s)
        assert engine.step().model == "linear"


def test_a_flushed_batch_serves_the_current_model_at_once(trained_workspace: Workspace) -> None:
    """An in-process run flushes before its loops run, so their switch serves the next prediction."""
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store)
        assert engine.step().model == "linear"
        trained_workspace.write_active_model("svm")
        engine.flush()
        assert engine.step().model == "svm"


def test_follows_a_promoted_version_within_one_check_period(trained_workspace: Workspace) -> None:
    from harmone.training import train

    repo = ModelRepository(trained_workspace)
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store)
        assert engine.step().version == 1
        trained = train("linear", read_series(trained_workspace.test_path)[:1500], trained_workspace.config,
                        retrain=True)
        repo.promote("linear", repo.add_version(trained, reason="retrain"))
        engine.clock.advance(trained_workspace.config.stream.model_check_s)
        assert engine.step().version == 2


def test_an_unknown_model_name_warns_and_the_last_good_model_keeps_serving(trained_workspace: Workspace) -> None:
    warnings: list[str] = []
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store, warnings=warnings)
        engine.step()
        trained_workspace.write_active_model("forest")
        engine.clock.advance(trained_workspace.config.stream.model_check_s)
        assert [engine.step().model for _ in range(3)] == ["linear"] * 3
        assert len(warnings) == 1 and "forest" in warnings[0] and "model.csv" in warnings[0]
        trained_workspace.write_active_model("lstm")  # a known kind without a trained version
        engine.clock.advance(trained_workspace.config.stream.model_check_s)
        assert engine.step().model == "linear"
        assert "lstm" in warnings[-1]


def test_untrained_workspace_is_a_clear_error(workspace: Workspace) -> None:
    with KnowledgeStore(workspace.db_path) as store:
        engine = _engine(workspace, store)
        with pytest.raises(ModelError, match="harmone train"):
            engine.step()


def test_logged_rows_carry_model_version_latency_and_metered_energy(
        trained_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    meter = FakeMeter()
    original = ServingModel.predict_next

    def costly_predict(self: ServingModel, window: list[float]) -> float:
        meter.advance(10.0)  # every prediction costs 10 µJ on the fake meter
        return original(self, window)

    monkeypatch.setattr(ServingModel, "predict_next", costly_predict)
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store, meter)
        flush_rows = trained_workspace.config.stream.flush_rows

        _run(engine, flush_rows * 2 + 3)
        rows = store.predictions_after(0)
    assert len(rows) == flush_rows * 2 + 3
    np.testing.assert_allclose(rows.energy_uj, 10.0)
    assert set(rows.model) == {"linear"} and set(rows.version) == {1}
    assert (rows.latency_s > 0).all()


def test_a_batch_never_mixes_models(trained_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    meter = FakeMeter()
    cost_uj = {"linear": 1.0, "svm": 100.0}
    original = ServingModel.predict_next

    def costly_predict(self: ServingModel, window: list[float]) -> float:
        meter.advance(cost_uj[self.kind])
        return original(self, window)

    monkeypatch.setattr(ServingModel, "predict_next", costly_predict)
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store, meter)
        for _ in range(10):
            engine.step()
        trained_workspace.write_active_model("svm")
        for _ in range(10):
            engine.step()
            meter.advance(5000.0)  # work between steps (e.g. the managing loops): never charged
        engine.flush()
        rows = store.predictions_after(0)
    np.testing.assert_allclose(rows.energy_uj[rows.model == "linear"], 1.0)
    np.testing.assert_allclose(rows.energy_uj[rows.model == "svm"], 100.0)


def test_the_stream_position_survives_a_restart(trained_workspace: Workspace) -> None:
    with KnowledgeStore(trained_workspace.db_path) as store:
        _run(_engine(trained_workspace, store), 7)
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store)
        assert engine.step().position == 5 + 7


def test_live_mode_does_not_charge_idle_time(trained_workspace: Workspace) -> None:
    class BusyWhileIdleClock(SimulatedClock):
        """Energy keeps flowing while we sleep: none of it may be charged to predictions."""

        def __init__(self, meter: FakeMeter) -> None:
            super().__init__()
            self.meter = meter

        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            self.meter.advance(1_000_000.0)

    meter = FakeMeter()
    with Session(trained_workspace, meter=meter, clock=BusyWhileIdleClock(meter)) as session:
        session.start_engine()
        session.drive(20, interval_s=0.15)
        rows = session.store.predictions_after(0)
    assert len(rows) == 20
    assert rows.energy_uj.max() == 0.0
    assert rows.time_s[-1] == pytest.approx(19 * 0.15)


def test_the_model_meter_charges_each_prediction_in_its_model_energy_region(trained_workspace: Workspace) -> None:
    """Through the engine's ``costs`` seam: a prediction's modelled cost is model energy, not overhead."""
    from harmone.energy.model import ModelMeter, load_energy_model

    meter = ModelMeter(load_energy_model())
    cost_uj = meter.model.prediction("linear")
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = InferenceEngine.for_workspace(trained_workspace, store=store, meter=meter, clock=SimulatedClock(),
                                               costs=meter)
        _run(engine, 70)
        rows = store.predictions_after(0)
    assert len(rows) == 70 and set(rows.model) == {"linear"}
    np.testing.assert_allclose(rows.model_energy_uj, cost_uj, rtol=1e-12)
    np.testing.assert_allclose(rows.energy_uj, cost_uj, rtol=1e-12)  # no overhead is modelled
    assert meter.read_uj() == pytest.approx(70 * cost_uj, rel=1e-12)
