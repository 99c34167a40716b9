"""The session: one composition root, one drive loop, one stop flag, everything closed."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from harmone.approaches import get_approach
from harmone.cadence import Schedule
from harmone.energy.fake import FakeMeter
from harmone.inference import POSITION_KEY, InferenceEngine, Prediction
from harmone.knowledge import KnowledgeStore
from harmone.mape.execute import InlineRetrainer
from harmone.metrics import r2_score
from harmone.runner import run_approach, run_inference
from harmone.session import Session
from harmone.testing import SimulatedClock, memory_store, small_workspace
from harmone.workspace import Workspace


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return small_workspace(tmp_path_factory.mktemp("session") / "ws")


class ClosingMeter(FakeMeter):
    closed = 0

    def close(self) -> None:
        ClosingMeter.closed += 1


@pytest.fixture
def owned_meter(monkeypatch: pytest.MonkeyPatch) -> type[ClosingMeter]:
    """The meter a session detects for itself, counting its closes."""
    import importlib

    module = importlib.import_module("harmone.energy.detect")
    ClosingMeter.closed = 0
    monkeypatch.setattr(module, "detect", lambda *a, **k: ClosingMeter())
    return ClosingMeter


def _is_closed(store: KnowledgeStore) -> bool:
    try:
        store.count_predictions()
    except sqlite3.ProgrammingError:
        return True
    return False


def test_the_session_closes_its_meter_and_store_when_a_step_fails(small: Workspace, owned_meter: type) -> None:
    def boom(prediction: Prediction) -> None:
        raise RuntimeError("display failed")

    with pytest.raises(RuntimeError, match="display failed"):
        with Session(small) as session:
            session.start_engine(from_start=True)
            session.drive(10, on_prediction=boom)
    assert owned_meter.closed == 1 and _is_closed(session.store)
    with KnowledgeStore(small.db_path) as store:  # the failing step's row was flushed on the way out
        assert store.get_state(POSITION_KEY) == small.config.stream.input_length + 1


def test_the_session_closes_its_meter_and_store_when_stopped(small: Workspace, owned_meter: type) -> None:
    with Session(small) as session:
        session.start_engine(from_start=True)
        session.stop.set()
        drive = session.drive(10)
    assert (drive.done, drive.finished) == (0, False)
    assert owned_meter.closed == 1 and _is_closed(session.store)


def test_a_meter_or_store_passed_in_stays_open(small: Workspace) -> None:
    meter, store = ClosingMeter(), memory_store()
    ClosingMeter.closed = 0
    with Session(small, meter=meter, store=store) as session:
        session.start_engine(from_start=True)
        session.drive(5)
    assert ClosingMeter.closed == 0 and store.count_predictions() == 5
    store.close()


def test_infer_keeps_nothing_per_prediction_and_reads_its_summary_from_the_rows(
        small: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import harmone.runner

    monkeypatch.setattr(harmone.runner, "SUMMARY_BATCH", 64)  # the summary reads rows 64 at a time

    def peak_bytes(steps: int) -> int:
        tracemalloc.start()
        try:
            run_inference(small, steps=steps, from_start=True, meter=FakeMeter())
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    short, long = peak_bytes(100), peak_bytes(800)
    # A list of every prediction would add about 150 bytes a step; the rows live in SQLite.
    assert long - short < 40_000, (short, long)
    result = run_inference(small, steps=300, from_start=True, meter=FakeMeter())
    with KnowledgeStore(small.db_path) as store:
        rows = store.predictions_after(result.first_row_id - 1)
    assert result.predictions == len(rows) == 300 and rows.last_row_id == result.last_row_id
    assert result.r2 == pytest.approx(r2_score(rows.true_value, rows.predicted_value))
    assert result.mae == pytest.approx(float(np.mean(np.abs(rows.true_value - rows.predicted_value))))


def _stop_after(count: int, stop: threading.Event) -> object:
    seen = []

    def on_prediction(prediction: Prediction) -> None:
        seen.append(prediction.position)
        if len(seen) == count:
            stop.set()

    return on_prediction


def test_the_stop_flag_stops_infer(small: Workspace) -> None:
    stop = threading.Event()
    result = run_inference(small, from_start=True, meter=FakeMeter(), stop=stop, on_prediction=_stop_after(7, stop))
    assert result.predictions == 7


def test_sigterm_sets_the_one_stop_flag(small: Workspace) -> None:
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGTERM)

    def on_prediction(prediction: Prediction) -> None:
        if not stop.is_set():
            os.kill(os.getpid(), signal.SIGTERM)

    result = run_inference(small, from_start=True, meter=FakeMeter(), stop=stop, on_prediction=on_prediction,
                           handle_signals=True)
    assert stop.is_set() and 1 <= result.predictions <= 2
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers are restored


def test_the_stop_flag_stops_run(small: Workspace) -> None:
    stop = threading.Event()
    events = []

    def on_event(event: object) -> None:
        events.append(event)
        stop.set()

    result = run_approach(small, "harmone", meter=FakeMeter(), stop=stop, on_event=on_event)
    # Stopped right after the first tick that recorded anything: its time is the last prediction's.
    assert events and len({e.time_s for e in events}) == 1
    assert result.predictions < 840 - small.config.stream.input_length
    with KnowledgeStore(small.db_path) as store:
        assert store.predictions_after(result.last_row_id - 1).time_s[-1] == events[0].time_s


def test_the_stop_flag_stops_manage(small: Workspace) -> None:
    """Without an engine the drive loop serves the manager until the flag is set."""
    clock = SimulatedClock()
    with memory_store() as store, Session(small, meter=FakeMeter(), clock=clock, store=store) as session:
        ticks = []

        def on_event(event: object) -> None:
            ticks.append(event)

        session.start_manager(get_approach("switch"), retrainer=InlineRetrainer(small, small.config, session.meter),
                              on_event=on_event)
        timer = threading.Timer(0.3, session.stop.set)
        timer.start()
        clock.advance(Schedule.of(small.config).switch_first_s)  # one switch-loop run is due
        drive = session.drive()
        timer.join()
    assert not drive.finished and len(ticks) == 1


def test_predictions_and_position_are_one_transaction(small: Workspace) -> None:
    with memory_store() as store:
        with pytest.raises(TypeError):  # the position write fails after the rows went in
            store.append_predictions_and_state([(0.0, 1.0, 1.5, "linear", 1, 1e-5, 2.0)], {POSITION_KEY: object()})
        assert store.count_predictions() == 0 and store.get_state(POSITION_KEY) is None


def test_a_failed_flush_keeps_its_rows_and_writes_them_once_later(small: Workspace,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with memory_store() as store:
        engine = InferenceEngine.for_workspace(small, store=store, meter=FakeMeter(), clock=SimulatedClock())
        engine.restart()
        for _ in range(3):
            engine.step()
        original = KnowledgeStore.append_predictions_and_state

        def failing(self: KnowledgeStore, rows: object, state: object) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(KnowledgeStore, "append_predictions_and_state", failing)
        with pytest.raises(sqlite3.OperationalError):
            engine.flush()
        assert store.count_predictions() == 0 and store.get_state(POSITION_KEY) == small.config.stream.input_length
        monkeypatch.setattr(KnowledgeStore, "append_predictions_and_state", original)
        engine.flush()
        rows = store.predictions_after(0)
        assert len(rows) == 3 and store.get_state(POSITION_KEY) == small.config.stream.input_length + 3


def test_the_in_memory_store_is_the_real_one(tmp_path: Path) -> None:
    with memory_store() as store:
        store.append_predictions([(0.0, 1.0, 1.5, "linear", 1, 1e-5, 2.0)])
        assert store.last_row_id() == 1 and not list(tmp_path.iterdir())


def test_the_public_names_of_testing_and_report_are_pinned() -> None:
    import harmone.report
    import harmone.testing

    assert sorted(harmone.testing.__all__) == ["ACROSS_MACHINES_REL", "FakeMeter", "ReplayMeter", "SimulatedClock",
                                               "assert_same_record", "floats_agree", "memory_store",
                                               "process_alive", "process_stopped", "record_differences",
                                               "seeded_series", "small_workspace"]
    assert sorted(harmone.report.__all__) == sorted([
        "CLAIM_ENERGY_RATIO_MAX", "CLAIM_R2_RATIO_MIN", "MISSING", "ROLLING_WINDOW", "Claim", "EventMark",
        "ReportError", "RunResult", "claims", "effective_window", "format_table", "meter_label", "pareto_front",
        "plot_energy_vs_r2", "plot_harmone_timeline", "plot_rolling_r2", "results_markdown", "results_rows",
        "rolling_r2", "write_results"])
    for module in (harmone.testing, harmone.report):
        assert all(hasattr(module, name) for name in module.__all__)
