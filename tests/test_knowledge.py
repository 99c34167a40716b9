from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from harmone.errors import WorkspaceError
from harmone.knowledge import (
    SCHEMA_VERSION,
    Action,
    Decision,
    DriftLoopState,
    Event,
    KnowledgeStore,
    LoopName,
    Outcome,
    RetrainLoopState,
    RunCounts,
    SwitchLoopState,
    SwitchState,
)


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
    # The original's six columns first, in its order; the model's share of the energy after them.
    assert lines[0] == "true_value,predicted_value,model_used,version,inference_time,energy_uj,model_energy_uj"
    assert lines[1].split(",")[2] == "linear" and len(lines) == 4
    assert lines[1].split(",")[-1] == ""  # rows logged without the split leave it empty


def test_energy_is_kept_as_the_models_own_work_and_the_overhead_around_it(tmp_path: Path) -> None:
    with KnowledgeStore(tmp_path / "k.db") as store:
        store.append_predictions([(*row, 1.5) for row in _rows(0, 4)])  # 2.0 µJ a step, 1.5 of it the model's
        store.append_predictions(_rows(4, 2, model="svm"))  # no split known
        split = store.energy_split_after(0)
        assert split["linear"].rows == 4
        assert split["linear"].uj_per_prediction == pytest.approx(2.0)
        assert split["linear"].model_uj_per_prediction == pytest.approx(1.5)
        assert split["linear"].overhead_uj_per_prediction == pytest.approx(0.5)
        assert split["svm"].rows == 2 and split["svm"].split_rows == 0
        assert np.isnan(split["svm"].model_uj_per_prediction)
        rows = store.predictions_after(0)
        assert rows.model_energy_uj[:4].tolist() == [1.5] * 4 and np.isnan(rows.model_energy_uj[4:]).all()
        assert store.energy_split_after(4) == {"svm": split["svm"]}


# -- typed events, loop state, schema versions, read-only access ------------------------------



def test_events_keep_their_decision_and_outcome_as_typed_values(tmp_path: Path) -> None:
    event = Event(time_s=5.0, loop="drift", action="retrain", model="svm", version=2, energy_uj=1.5,
                  decision="retrain-no-other-version", observed={"new_version": 2}, outcome="kept-serving")
    assert (event.loop, event.action, event.decision, event.outcome) == (
        LoopName.DRIFT, Action.RETRAIN, Decision.RETRAIN_NO_OTHER_VERSION, Outcome.KEPT_SERVING)
    with KnowledgeStore(tmp_path / "k.db") as store:
        event_id = store.record_event(event)
        (back,) = store.events()
    assert back == Event(**{**event.__dict__, "id": event_id})
    assert back.to_dict()["decision"] == "retrain-no-other-version" and back.to_dict()["outcome"] == "kept-serving"
    with pytest.raises(ValueError):
        Event(time_s=0.0, loop="switch", action="none", decision="no-such-decision")


def test_loop_states_round_trip_through_the_store(tmp_path: Path) -> None:
    states = [
        SwitchLoopState(switch=SwitchState(ema={"svm": 0.8}, budget=0.9, recovery=2, last_row_id=40),
                        next_due_s=80.0, counts=RunCounts(runs=2, switches=1)),
        DriftLoopState(next_due_s=403.0, counts=RunCounts(runs=1), last_row_id=12, last_score=0.25),
        RetrainLoopState(next_due_s=500.0),
    ]
    with KnowledgeStore(tmp_path / "k.db") as store:
        assert store.loop_state(LoopName.DRIFT) is None
        for state in states:
            store.save_loop_state(state)
        assert [store.loop_state(state.loop) for state in states] == states
        assert store.get_state("drift_loop") == {"next_due_s": 403.0, "counts": {"runs": 1}, "last_row_id": 12,
                                                 "last_score": 0.25}
        assert store.get_state("switch_loop")["state"]["ema"] == {"svm": 0.8}


def test_the_detector_score_stored_under_its_old_kl_names_still_reads(tmp_path: Path) -> None:
    """Earlier releases stored the drift loop's score as ``last_kl`` and a check's as ``window_kl``."""
    from harmone.knowledge.events import DriftFigures

    path = tmp_path / "k.db"
    with KnowledgeStore(path) as store:
        store.set_state({"drift_loop": {"next_due_s": 403.0, "counts": {"runs": 1}, "last_row_id": 12,
                                        "last_kl": 0.25}})
    db = sqlite3.connect(path)
    db.execute("INSERT INTO events (time_s, loop, action, model, version, energy_uj, decision, observed)"
               " VALUES (3.0, 'drift', 'reuse', 'svm', 1, 5.0, 'reuse',"
               " '{\"window_kl\": 0.9, \"version_kl\": 0.1, \"drift_detected\": true, \"values\": 400}')")
    db.commit()
    db.close()
    for opened in (KnowledgeStore(path), KnowledgeStore.open_readonly(path)):
        with opened as store:
            state = store.loop_state(LoopName.DRIFT)
            (event,) = store.events()
        assert isinstance(state, DriftLoopState) and state.last_score == 0.25
        assert event.observed == {"detector_score": 0.9, "version_kl": 0.1, "drift_detected": True, "values": 400}
        figures = event.figures
        assert isinstance(figures, DriftFigures) and figures.detector_score == 0.9 and figures.version_kl == 0.1


@pytest.mark.parametrize(("key", "value", "named"), [
    ("switch_loop", {"next_due_s": 1.0, "counts": {}, "state": {"ema": {}, "budget": "lots", "recovery": 0,
                                                                "last_row_id": 0}}, "budget"),
    ("switch_loop", {"next_due_s": 1.0, "counts": {}}, "state"),
    ("drift_loop", {"next_due_s": "soon", "counts": {}}, "next_due_s"),
    ("retrain_loop", {"next_due_s": 1.0, "counts": {"runs": 1.5}}, "runs"),
    ("retrain_loop", {"next_due_s": 1.0, "counts": {"runs": -1}}, "runs"),
    ("retrain_loop", [1, 2], "table"),
])
def test_a_damaged_loop_state_is_one_line_naming_key_and_field(tmp_path: Path, key: str, value: object,
                                                                named: str) -> None:
    loop = {"switch_loop": LoopName.SWITCH, "drift_loop": LoopName.DRIFT, "retrain_loop": LoopName.RETRAIN}[key]
    with KnowledgeStore(tmp_path / "k.db") as store:
        store.set_state({key: value})
        with pytest.raises(WorkspaceError) as info:
            store.loop_state(loop)
    message = str(info.value)
    assert key in message and named in message and "\n" not in message


#: The tables of the first release, written out here so the test does not depend on the code
#: under test.
FIRST_RELEASE_TABLES = """
CREATE TABLE predictions (id INTEGER PRIMARY KEY, time_s REAL NOT NULL, true_value REAL NOT NULL,
    predicted_value REAL NOT NULL, model TEXT NOT NULL, version INTEGER NOT NULL, latency_s REAL NOT NULL,
    energy_uj REAL NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY, time_s REAL NOT NULL, loop TEXT NOT NULL, action TEXT NOT NULL,
    model TEXT, version INTEGER, energy_uj REAL NOT NULL DEFAULT 0, decision TEXT NOT NULL DEFAULT '',
    observed TEXT NOT NULL DEFAULT '{}');
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _first_release_database(path: Path) -> None:
    """A knowledge base as the first release left it: its tables, user_version 0, suffixed decisions."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(FIRST_RELEASE_TABLES)
    db.executemany("INSERT INTO events (time_s, loop, action, model, version, energy_uj, decision, observed)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
                       (1.0, "switch", "none", "svm", 1, 0.0, "ok", "{}"),
                       (2.0, "drift", "retrain", "svm", 2, 0.0, "retrain-no-other-version", '{"new_version": 2}'),
                       (3.0, "drift", "retrain", "svm", 1, 0.0, "retrain-no-other-version; serving-version-better",
                        '{"new_version": 3}'),
                       (4.0, "retrain", "none", "svm", 1, 0.0, "scheduled; retrain-failed", '{"error": "boom"}'),
                   ])
    db.execute("INSERT INTO predictions (time_s, true_value, predicted_value, model, version, latency_s, energy_uj)"
               " VALUES (0, 1, 1, 'svm', 1, 0, 0)")
    db.commit()
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    db.close()


def test_a_first_release_database_is_migrated_in_order_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    _first_release_database(path)
    with KnowledgeStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        events = store.events()
        assert store.count_predictions() == 1
    assert [(e.decision.value, e.outcome) for e in events] == [
        ("ok", None), ("retrain-no-other-version", Outcome.PROMOTED),
        ("retrain-no-other-version", Outcome.KEPT_SERVING), ("scheduled", Outcome.FAILED)]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    with KnowledgeStore(path) as store:  # opening again migrates nothing
        assert [e.outcome for e in store.events()] == [e.outcome for e in events]


def test_a_newer_schema_than_known_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    KnowledgeStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(WorkspaceError, match="newer"):
        KnowledgeStore(path)


def test_a_read_only_store_reads_and_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    with pytest.raises(WorkspaceError, match="no knowledge base"):
        KnowledgeStore.open_readonly(path)
    assert not path.exists()  # a reader created nothing
    with KnowledgeStore(path) as store:
        store.append_predictions(_rows(0, 3))
        store.save_loop_state(RetrainLoopState(next_due_s=9.0))
    with KnowledgeStore.open_readonly(path) as reader:
        assert reader.count_predictions() == 3 and reader.loop_state(LoopName.RETRAIN) == RetrainLoopState(next_due_s=9.0)
        with pytest.raises(WorkspaceError, match="read-only"):
            reader.set_state({"approach": "switch"})
        with pytest.raises(WorkspaceError, match="read-only"):
            reader.append_predictions(_rows(3, 1))


def test_a_read_only_store_reads_a_first_release_database_without_migrating_it(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    _first_release_database(path)
    with KnowledgeStore.open_readonly(path) as reader:
        assert reader.schema_version == 0
        outcomes = [e.outcome for e in reader.events()]
        assert [e.decision.value for e in reader.events(last=1)] == ["scheduled"]
    assert outcomes == [None, Outcome.PROMOTED, Outcome.KEPT_SERVING, Outcome.FAILED]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    db.close()


def test_typed_views_read_every_event_of_a_recorded_run() -> None:
    import json

    from harmone.knowledge.codec import split_legacy_decision
    from harmone.knowledge.events import DriftFigures, SwitchFigures

    recorded = json.loads((Path(__file__).parent / "data" / "pinned_harmone_events.json").read_text())["events"]
    events = []
    for raw in recorded:
        decision, outcome = split_legacy_decision(raw["action"], raw["decision"], json.dumps(raw["observed"]))
        events.append(Event(time_s=raw["time"], loop=raw["loop"], action=raw["action"], model=raw["model"],
                            version=raw["version"], energy_uj=raw["energy_uj"], decision=decision,
                            observed=raw["observed"], outcome=outcome))
    switch = [e.figures for e in events if e.loop is LoopName.SWITCH]
    drift = [e.figures for e in events if e.loop is LoopName.DRIFT]
    assert all(isinstance(f, SwitchFigures) for f in switch) and all(isinstance(f, DriftFigures) for f in drift)
    assert sum(f.rows for f in switch if isinstance(f, SwitchFigures)) > 20_000
    detected = [e for e in events if isinstance(e.figures, DriftFigures) and e.figures.drift_detected]
    assert [(e.decision.value, e.outcome) for e in detected] == [
        ("retrain-no-other-version", Outcome.PROMOTED), ("retrain-no-other-version", Outcome.KEPT_SERVING),
        ("active-version-fits", None)]
    kept = detected[1].retraining
    assert kept is not None and not kept.promoted and kept.serving_holdout_r2 is not None
    assert kept.holdout_r2 < kept.serving_holdout_r2
    fits = detected[2].figures
    assert isinstance(fits, DriftFigures) and fits.version_kls == {1: pytest.approx(0.6411457926314228),
                                                                   2: pytest.approx(3.2989141560122266)}


def test_a_reader_leaves_no_wal_or_shm_file_behind(tmp_path: Path) -> None:
    """`harmone status` reads through ``open_readonly``: the knowledge folder is as it was, byte for byte."""
    path = tmp_path / "k.db"
    with KnowledgeStore(path) as store:
        store.append_predictions(_rows(0, 10))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with KnowledgeStore.open_readonly(path) as reader:
        assert reader.count_predictions() == 10
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader._db.execute("DELETE FROM predictions")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize(("content", "message"), [(None, "not a file"), (b"", "an empty file")])
def test_a_reader_names_a_folder_or_an_empty_file(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "k.db"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(WorkspaceError, match=message):
        KnowledgeStore.open_readonly(path)
