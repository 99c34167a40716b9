"""Late labels: a prediction is logged with its true value only once the label has arrived."""

from __future__ import annotations

import dataclasses

import numpy as np

from harmone.clock import SimulatedClock
from harmone.data.series import read_series
from harmone.inference import InferenceEngine
from harmone.knowledge import KnowledgeStore
from harmone.testing import FakeMeter
from harmone.workspace import Workspace


def _engine(workspace: Workspace, store: KnowledgeStore, delay: int, flush_rows: int = 8) -> InferenceEngine:
    config = workspace.config
    config = config.replace(stream=dataclasses.replace(config.stream, label_delay=delay, flush_rows=flush_rows))
    return InferenceEngine.for_workspace(workspace, store=store, meter=FakeMeter(), clock=SimulatedClock(),
                                         config=config)


def _serve(engine: InferenceEngine, steps: int) -> None:
    for _ in range(steps):
        engine.step()
    engine.flush()


def test_only_labelled_predictions_are_logged_and_the_rest_wait(trained_workspace: Workspace) -> None:
    test = read_series(trained_workspace.test_path)
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store, delay=20)
        _serve(engine, 100)
        logged = store.predictions_after(0)
        # Predicted records 5..104; labels have arrived for those before 105 - 20 = 85.
        assert len(logged) == 80 and store.count_pending() == 20
        positions = np.arange(5, 85)
        np.testing.assert_array_equal(logged.true_value, test[positions])
        assert store.records_after(0, newest=1000)[2].tolist() == positions.tolist()


def test_pending_predictions_survive_a_restart_and_are_logged_in_stream_order(trained_workspace: Workspace) -> None:
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store, delay=30)
        _serve(engine, 50)
        pending = store.count_pending()
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store, delay=30)
        assert engine.position == 55 and pending == 30
        _serve(engine, 40)
        _, _, positions, _ = store.records_after(0, newest=1000)
        assert positions.tolist() == list(range(5, 65)) and store.count_pending() == 30


def test_every_label_arrives_at_the_end_of_the_stream(trained_workspace: Workspace) -> None:
    n = len(read_series(trained_workspace.test_path))
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store, delay=50, flush_rows=64)
        while engine.step() is not None:
            pass
        engine.flush()
        assert store.count_predictions() == n - 5 and store.count_pending() == 0


def test_without_a_delay_rows_carry_their_position(trained_workspace: Workspace) -> None:
    with KnowledgeStore(trained_workspace.db_path) as store:
        engine = _engine(trained_workspace, store, delay=0)
        _serve(engine, 10)
        assert store.records_after(0, newest=100)[2].tolist() == list(range(5, 15))
        assert store.count_pending() == 0
