from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np

from harmone.knowledge import Event, KnowledgeStore


def _rows(start: int, n: int, model: str = "linear") -> list[tuple]:
    return [(float(i), float(i), float(i) + 0.5, model, 1, 1e-5, 2.0) for i in range(start, start + n)]


def test_incremental_reads_resume_where_the_last_one_stopped(tmp_path: Path) -> None:
    with KnowledgeStore(tmp_path / "k.db") as store:
        store.append_predictions(_rows(0, 10))
        first = store.predictions_after(0)
        assert len(first) == 10 and first.last_row_id == 10
        store.append_predictions(_rows(10, 5, "svm"))
        second = store.predictions_after(first.last_row_id)
        assert list(second.true_value) == [10.0, 11.0, 12.0, 13.0, 14.0]
        assert set(second.model) == {"svm"}
        assert list(store.latest_true_values(3)) == [12.0, 13.0, 14.0]
        assert store.count_predictions() == 15


def test_state_and_events_persist_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    with KnowledgeStore(path) as store:
        store.set_state({"ema": {"lstm": 0.8}, "budget": 1.0})
        store.record_event(Event(time_s=40.0, loop="switch", action="switch", model="svm", version=1,
                                 energy_uj=12.5, decision="score-violation", observed={"r2": np.float64(0.7)}))
    with KnowledgeStore(path) as store:
        assert store.get_state("ema") == {"lstm": 0.8}
        assert store.get_state("missing", 3) == 3
        (event,) = store.events()
        assert (event.loop, event.action, event.model, event.observed["r2"]) == ("switch", "switch", "svm", 0.7)


def _writer(path: str, batches: int) -> None:
    with KnowledgeStore(Path(path)) as store:
        for b in range(batches):
            store.append_predictions(_rows(b * 50, 50))


def test_a_reader_in_another_process_sees_whole_batches_only(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    KnowledgeStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    writer = ctx.Process(target=_writer, args=(str(path), 40))
    writer.start()
    seen = []
    with KnowledgeStore(path) as store:
        while writer.is_alive() or not seen or seen[-1] < 2000:
            seen.append(store.count_predictions())
            if seen[-1] >= 2000:
                break
    writer.join()
    assert writer.exitcode == 0
    assert all(count % 50 == 0 for count in seen)
    assert seen[-1] == 2000


def test_export_uses_the_original_column_names(tmp_path: Path) -> None:
    with KnowledgeStore(tmp_path / "k.db") as store:
        store.append_predictions(_rows(0, 3))
        assert store.export_predictions(tmp_path / "out.csv") == 3
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "true_value,predicted_value,model_used,version,inference_time,energy_uj"
    assert lines[1].split(",")[2] == "linear" and len(lines) == 4
