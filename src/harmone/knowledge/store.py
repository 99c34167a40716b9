"""The knowledge base: every prediction, every decision and the loops' state, in SQLite.

WAL mode lets one writer (inference) and concurrent readers (the managing system, `status`)
work across processes. Reads are incremental by row id, so a loop's cost does not grow with
the length of the history. All SQL of the project lives in this module.

The schema version is the database's ``PRAGMA user_version``; ``MIGRATIONS`` brings any
older database up to date, in order, when it is opened for writing. ``open_readonly``
never creates, migrates or writes.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harmone.errors import WorkspaceError
import harmone.knowledge.codec as codec
from harmone.knowledge.events import Event, LoopName
from harmone.knowledge.keys import LOOP_KEYS
from harmone.knowledge.loop_state import LoopState

#: Seconds a writer waits for another one's transaction before failing with a one-line error.
LOCK_WAIT_S = 5.0

#: The layout of the first release (schema version 0 had these tables and no version).
_FIRST_TABLES = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY,
    time_s REAL NOT NULL,
    true_value REAL NOT NULL,
    predicted_value REAL NOT NULL,
    model TEXT NOT NULL,
    version INTEGER NOT NULL,
    latency_s REAL NOT NULL,
    energy_uj REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    time_s REAL NOT NULL,
    loop TEXT NOT NULL,
    action TEXT NOT NULL,
    model TEXT,
    version INTEGER,
    energy_uj REAL NOT NULL DEFAULT 0,
    decision TEXT NOT NULL DEFAULT '',
    observed TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def _create_tables(db: sqlite3.Connection) -> None:
    """Version 1: the first release's tables (a no-op on a database that has them)."""
    for statement in _FIRST_TABLES.split(";"):
        if statement.strip():
            db.execute(statement)


def _add_event_outcome(db: sqlite3.Connection) -> None:
    """Version 2: how a retraining ended is a column, no longer a suffix of ``decision``."""
    db.execute("ALTER TABLE events ADD COLUMN outcome TEXT")
    rows = db.execute("SELECT id, action, decision, observed FROM events").fetchall()
    for row_id, action, decision, observed in rows:
        split, outcome = codec.split_legacy_decision(action, decision, observed)
        if (split, outcome) != (decision, None):
            db.execute("UPDATE events SET decision = ?, outcome = ? WHERE id = ?", (split, outcome, row_id))


def _add_model_energy(db: sqlite3.Connection) -> None:
    """Version 3: a row's energy is split into the model's own work and the serving overhead.

    ``energy_uj`` stays the whole serving step; ``model_energy_uj`` is the prediction's
    share of it (NULL on rows logged before the split existed).
    """
    db.execute("ALTER TABLE predictions ADD COLUMN model_energy_uj REAL")


def _add_positions(db: sqlite3.Connection) -> None:
    """Version 4: each row names the stream record it predicted, and predictions wait for late labels.

    ``position`` lets a task whose records are more than their true value (a classifier's
    features) read them back for drift detection and retraining (NULL on older rows).
    ``pending_predictions`` holds predictions whose label has not arrived yet
    (``[stream] label_delay``): they move to ``predictions`` with their label, in the
    transaction that logs the record that reveals it.
    """
    db.execute("ALTER TABLE predictions ADD COLUMN position INTEGER")
    db.execute("CREATE TABLE IF NOT EXISTS pending_predictions (position INTEGER PRIMARY KEY, time_s REAL NOT NULL,"
               " predicted_value REAL NOT NULL, model TEXT NOT NULL, version INTEGER NOT NULL,"
               " latency_s REAL NOT NULL, energy_uj REAL NOT NULL, model_energy_uj REAL)")


#: Ordered migrations: ``MIGRATIONS[i]`` takes a database from version i to i + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_create_tables, _add_event_outcome,
                                                                 _add_model_energy, _add_positions)
SCHEMA_VERSION = len(MIGRATIONS)

#: One logged prediction, in column order of the `predictions` table (without id): time, true,
#: predicted, model, version, latency s, energy µJ (the whole serving step), model energy µJ
#: (the prediction's own share), stream position (shorter rows leave the last ones unknown).
PredictionRow = tuple[float, float, float, str, int, float, float, float | None, int | None]
#: A prediction waiting for its label: position, time, predicted, model, version, latency s,
#: energy µJ, model energy µJ.
PendingRow = tuple[int, float, float, str, int, float, float, float | None]

#: Export column names, kept compatible with the original tool's prediction log.
EXPORT_COLUMNS = ("true_value", "predicted_value", "model_used", "version", "inference_time", "energy_uj",
                  "model_energy_uj")

_PREDICTION_COLUMNS = ("id, time_s, true_value, predicted_value, model, version, latency_s, energy_uj,"
                       " model_energy_uj")
_INSERT_PREDICTION = ("INSERT INTO predictions (time_s, true_value, predicted_value, model, version, latency_s,"
                      " energy_uj, model_energy_uj, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_PENDING = ("INSERT OR REPLACE INTO pending_predictions (position, time_s, predicted_value, model, version,"
                   " latency_s, energy_uj, model_energy_uj) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_UPSERT_STATE = "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"

@dataclass(frozen=True)
class Predictions:
    """A slice of the prediction log as arrays; `last_row_id` is where the next read resumes."""

    row_id: np.ndarray
    time_s: np.ndarray
    true_value: np.ndarray
    predicted_value: np.ndarray
    model: np.ndarray
    version: np.ndarray
    latency_s: np.ndarray
    #: The whole serving step's energy per row, µJ.
    energy_uj: np.ndarray
    #: The prediction's own share of ``energy_uj``; NaN where unknown (rows of older releases).
    model_energy_uj: np.ndarray

    @property
    def last_row_id(self) -> int:
        return int(self.row_id[-1]) if len(self.row_id) else 0

    def __len__(self) -> int:
        return len(self.row_id)


@dataclass(frozen=True)
class EnergySplit:
    """Logged energy of one model's rows: the whole serving step, and the model's own share.

    Rows of older releases carry no split; the per-prediction figures use only rows that do.
    """

    rows: int
    energy_uj: float
    #: Rows that carry a model share, the sum of that share, and those rows' whole energy.
    split_rows: int
    model_energy_uj: float
    split_energy_uj: float

    @property
    def uj_per_prediction(self) -> float:
        return self.energy_uj / self.rows if self.rows else float("nan")

    @property
    def model_uj_per_prediction(self) -> float:
        return self.model_energy_uj / self.split_rows if self.split_rows else float("nan")

    @property
    def overhead_uj_per_prediction(self) -> float:
        """Serving overhead per prediction: the step's energy less the model's own work."""
        if not self.split_rows:
            return float("nan")
        return (self.split_energy_uj - self.model_energy_uj) / self.split_rows


class KnowledgeStore:
    """One connection to `knowledge.db`; open one per process (or thread).

    ``KnowledgeStore(path)`` opens for writing: it creates the database and migrates an
    older one. ``KnowledgeStore.open_readonly(path)`` is for readers such as ``status``.
    """

    def __init__(self, path: Path, *, timeout_s: float | None = None, readonly: bool = False) -> None:
        self.path = Path(path)
        timeout_s = LOCK_WAIT_S if timeout_s is None else timeout_s
        self.readonly = readonly
        try:
            if readonly:
                if self.path.exists() and not self.path.is_file():
                    raise WorkspaceError(f"{self.path}: not a file; the knowledge base is a SQLite file")
                if not self.path.is_file():
                    raise WorkspaceError(f"{self.path}: no knowledge base (nothing has run in this workspace yet)")
                # Not ``mode=ro``: a read-only connection cannot remove the -wal and -shm files it
                # creates, so every `status` would leave them behind. A read-write connection that
                # only queries writes nothing, and the last one to close removes them.
                self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True, timeout=timeout_s,
                                           isolation_level=None, check_same_thread=False)
                self._db.execute("PRAGMA query_only=ON")
                self.schema_version = self._user_version()
                if self.schema_version > SCHEMA_VERSION:
                    self._db.close()
                    raise WorkspaceError(f"{self.path}: knowledge base schema version {self.schema_version} is "
                                         f"newer than this HarmonE understands ({SCHEMA_VERSION})")
                if not self._has_tables():
                    self._db.close()
                    empty = "an empty file" if self.path.stat().st_size == 0 else "a SQLite file without them"
                    raise WorkspaceError(f"{self.path}: holds no predictions, events or state ({empty}); the next"
                                         f" `harmone infer`, `manage` or `run` sets it up")
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: commits are atomic and durable up to the last checkpoint, without an
            # fsync per batch of predictions.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            self._identity = _identity(self.path)
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(f"{self.path}: cannot open the knowledge base ({_explain(self.path, exc)})") from None

    @classmethod
    def open_readonly(cls, path: Path, *, timeout_s: float | None = None) -> KnowledgeStore:
        """A connection that never creates, migrates or writes; a missing database is an error."""
        return cls(path, timeout_s=timeout_s, readonly=True)

    def _has_tables(self) -> bool:
        names = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {"predictions", "events", "state"} <= names

    def _user_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Bring the schema to ``SCHEMA_VERSION``, each step in its own transaction."""
        version = self._user_version()
        if version > SCHEMA_VERSION:
            self._db.close()
            raise WorkspaceError(f"{self.path}: knowledge base schema version {version} is newer than this "
                                 f"HarmonE understands ({SCHEMA_VERSION})")
        while version < SCHEMA_VERSION:
            with self._transaction():
                if self._user_version() == version:  # another process may have migrated meanwhile
                    MIGRATIONS[version](self._db)
                    self._db.execute(f"PRAGMA user_version = {version + 1}")
            version = self._user_version()
        self.schema_version = version

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> KnowledgeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- predictions -----------------------------------------------------------------------

    def append_predictions(self, rows: Sequence[PredictionRow]) -> None:
        """Log a batch in one transaction: all rows become visible together, or none."""
        if rows:
            self.append_predictions_and_state(rows, {})

    def append_predictions_and_state(self, rows: Iterable[PredictionRow], state: Mapping[str, Any]) -> None:
        """Log a batch and update state keys (the stream position) in one transaction.

        A reader, or a restart after a crash, sees both or neither: never rows logged whose
        position was not saved (they would be predicted and logged twice).
        """
        rows = [row if len(row) == 9 else (*row, *(None,) * (9 - len(row))) for row in rows]
        with self._transaction():
            self._db.executemany(_INSERT_PREDICTION, rows)
            self._db.executemany(_UPSERT_STATE, [(k, codec.dumps(v)) for k, v in state.items()])

    def log_with_labels(self, labelled: Sequence[PredictionRow], pending: Sequence[PendingRow], *,
                        labels_before: int, label_of: Callable[[int], float], state: Mapping[str, Any]) -> None:
        """Log predictions whose labels have arrived, keep the others pending, in one transaction.

        Pending predictions at positions before ``labels_before`` get their label
        (``label_of(position)``) and move to the log first, in position order, so the log
        stays in stream order.
        """
        with self._transaction():
            ready = self._db.execute(
                "SELECT position, time_s, predicted_value, model, version, latency_s, energy_uj, model_energy_uj"
                " FROM pending_predictions WHERE position < ? ORDER BY position", (labels_before,)).fetchall()
            released = [(r[1], label_of(int(r[0])), r[2], r[3], r[4], r[5], r[6], r[7], int(r[0])) for r in ready]
            self._db.execute("DELETE FROM pending_predictions WHERE position < ?", (labels_before,))
            self._db.executemany(_INSERT_PREDICTION, released + [tuple(row) for row in labelled])
            self._db.executemany(_INSERT_PENDING, [tuple(row) for row in pending])
            self._db.executemany(_UPSERT_STATE, [(k, codec.dumps(v)) for k, v in state.items()])

    def count_pending(self) -> int:
        """Predictions still waiting for their label."""
        return int(self._db.execute("SELECT COUNT(*) FROM pending_predictions").fetchone()[0])

    def predictions_after(self, row_id: int, limit: int | None = None) -> Predictions:
        """Rows logged after `row_id`, oldest first (reads only those rows)."""
        sql = f"SELECT {_PREDICTION_COLUMNS} FROM predictions WHERE id > ? ORDER BY id"
        params: tuple[Any, ...] = (row_id,)
        if limit is not None:
            sql += " LIMIT ?"
            params = (row_id, limit)
        return _to_predictions(self._db.execute(sql, params).fetchall())

    def latest_predictions(self, count: int) -> Predictions:
        """The newest `count` rows, oldest first (reads only those rows)."""
        rows = self._db.execute(
            f"SELECT {_PREDICTION_COLUMNS} FROM predictions ORDER BY id DESC LIMIT ?", (count,)).fetchall()
        rows.reverse()
        return _to_predictions(rows)

    def latest_true_values(self, count: int) -> np.ndarray:
        """The newest `count` true values in time order."""
        rows = self._db.execute(
            "SELECT true_value FROM predictions ORDER BY id DESC LIMIT ?", (count,)).fetchall()
        return np.array([r[0] for r in reversed(rows)], dtype=np.float64)

    def latest_records(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The newest `count` true values and the stream positions they were logged at, in time order.

        Positions are -1 on rows logged before positions were kept.
        """
        rows = self._db.execute(
            "SELECT true_value, COALESCE(position, -1) FROM predictions ORDER BY id DESC LIMIT ?", (count,)).fetchall()
        rows.reverse()
        return (np.array([r[0] for r in rows], dtype=np.float64), np.array([r[1] for r in rows], dtype=np.int64))

    def records_after(self, row_id: int, *, newest: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """``outcomes_after`` with each row's stream position (-1 where unknown): (true, predicted,
        position, last row id)."""
        rows = self._db.execute("SELECT id, true_value, predicted_value, COALESCE(position, -1) FROM predictions"
                                " WHERE id > ? ORDER BY id DESC LIMIT ?", (row_id, newest)).fetchall()
        rows.reverse()
        if not rows:
            return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64), row_id
        return (np.array([r[1] for r in rows], dtype=np.float64), np.array([r[2] for r in rows], dtype=np.float64),
                np.array([r[3] for r in rows], dtype=np.int64), int(rows[-1][0]))

    def true_values_after(self, row_id: int, *, newest: int) -> tuple[np.ndarray, int]:
        """The newest `newest` true values logged after `row_id`, oldest first, and the last row id read.

        A reader that keeps a window of `newest` values needs no more, however long it paused.
        """
        # The last id first, then one column up to it: a row logged in between is left for the
        # next read, and fetching one column instead of two takes a third less time per row.
        last = self._db.execute("SELECT MAX(id) FROM predictions WHERE id > ?", (row_id,)).fetchone()[0]
        if last is None:
            return np.empty(0), row_id
        rows = self._db.execute("SELECT true_value FROM predictions WHERE id > ? AND id <= ? ORDER BY id DESC LIMIT ?",
                                (row_id, last, newest)).fetchall()
        values = np.fromiter((r[0] for r in rows), dtype=np.float64, count=len(rows))
        return values[::-1].copy(), int(last)

    def outcomes_after(self, row_id: int, *, newest: int) -> tuple[np.ndarray, np.ndarray, int]:
        """``true_values_after`` with the predictions of the same rows: (true, predicted, last row id)."""
        rows = self._db.execute("SELECT id, true_value, predicted_value FROM predictions WHERE id > ?"
                                " ORDER BY id DESC LIMIT ?", (row_id, newest)).fetchall()
        rows.reverse()
        if not rows:
            return np.empty(0), np.empty(0), row_id
        pairs = np.array([(r[1], r[2]) for r in rows], dtype=np.float64)
        return pairs[:, 0].copy(), pairs[:, 1].copy(), int(rows[-1][0])

    def latency_order_statistic(self, first_row_id: int, last_row_id: int, rank: int) -> float | None:
        """The ``rank``-th smallest latency (0 = fastest) among rows first..last; sorted in SQLite."""
        row = self._db.execute(
            "SELECT latency_s FROM predictions WHERE id BETWEEN ? AND ? ORDER BY latency_s LIMIT 1 OFFSET ?",
            (first_row_id, last_row_id, rank)).fetchone()
        return None if row is None else float(row[0])

    def last_row_id(self) -> int:
        row = self._db.execute("SELECT MAX(id) FROM predictions").fetchone()
        return int(row[0] or 0)

    def count_predictions(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM predictions").fetchone()
        return int(row[0])

    def iter_predictions(self, batch: int = 10_000) -> Iterator[Predictions]:
        last = 0
        while True:
            chunk = self.predictions_after(last, batch)
            if not len(chunk):
                return
            yield chunk
            last = chunk.last_row_id

    def export_predictions(self, path: Path) -> int:
        """Write the log as CSV; returns the number of rows."""
        return _write_export(path, self.iter_predictions())

    @staticmethod
    def export_log(db_path: Path, path: Path) -> int:
        """The log of the knowledge base at ``db_path`` as CSV, read only; a header alone when none exists."""
        if not Path(db_path).exists():
            return _write_export(path, iter(()))
        with KnowledgeStore.open_readonly(db_path) as store:
            return store.export_predictions(path)

    def prediction_buckets_after(self, row_id: int, width: int) -> list[tuple[Any, ...]]:
        """The rows after ``row_id`` summarised per ``width`` ids and model, oldest first: bucket number
        ((id - 1) // width), model, first and last id, rows, earliest and latest clock time, min and
        max of the true and of the predicted value, energy µJ.

        One pass of SQLite over the new rows: the dashboard keeps these for the whole-history
        chart and its running totals per model, and extends them, so no row is read twice.
        """
        return self._db.execute(
            "SELECT (id - 1) / ?, model, MIN(id), MAX(id), COUNT(*), MIN(time_s), MAX(time_s), MIN(true_value),"
            " MAX(true_value), MIN(predicted_value), MAX(predicted_value), SUM(energy_uj) FROM predictions"
            " WHERE id > ? GROUP BY 1, 2 ORDER BY 1, 3", (width, row_id)).fetchall()

    def energy_split_after(self, row_id: int = 0) -> dict[str, EnergySplit]:
        """Per model, the energy of the rows logged after ``row_id``: model's own work and overhead."""
        rows = self._db.execute(
            "SELECT model, COUNT(*), SUM(energy_uj), COUNT(model_energy_uj), SUM(model_energy_uj),"
            " SUM(CASE WHEN model_energy_uj IS NULL THEN 0 ELSE energy_uj END)"
            " FROM predictions WHERE id > ? GROUP BY model ORDER BY model", (row_id,)).fetchall()
        return {str(r[0]): EnergySplit(rows=int(r[1]), energy_uj=float(r[2] or 0.0), split_rows=int(r[3]),
                                       model_energy_uj=float(r[4] or 0.0), split_energy_uj=float(r[5] or 0.0))
                for r in rows}

    # -- events ----------------------------------------------------------------------------

    def record_event(self, event: Event) -> int:
        with self._transaction():
            cursor = self._db.execute(
                f"INSERT INTO events ({', '.join(codec.EVENT_COLUMNS)}) VALUES ({', '.join('?' * 9)})",
                codec.encode_event(event))
        return int(cursor.lastrowid or 0)

    def events(self, after_id: int = 0, *, loop: str | None = None, last: int | None = None) -> list[Event]:
        """Events after ``after_id`` in order, of one loop if given, only the newest ``last`` if given."""
        outcome = "outcome" if self.schema_version >= 2 else "NULL"
        sql = (f"SELECT id, time_s, loop, action, model, version, energy_uj, decision, observed, {outcome}"
               " FROM events WHERE id > ?")
        params: list[Any] = [after_id]
        if loop is not None:
            sql += " AND loop = ?"
            params.append(str(loop))
        if last is not None:
            rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, last]).fetchall()
            rows.reverse()
        else:
            rows = self._db.execute(sql + " ORDER BY id", params).fetchall()
        if self.schema_version < 2:
            rows = [codec.legacy_event_row(row) for row in rows]
        return [codec.decode_event(row) for row in rows]

    def events_before(self, before_id: int | None, *, loop: str | None = None, decision: str | None = None,
                      limit: int = 200) -> list[Event]:
        """The newest ``limit`` events older than ``before_id`` (all when None), newest first, filtered."""
        outcome = "outcome" if self.schema_version >= 2 else "NULL"
        sql = (f"SELECT id, time_s, loop, action, model, version, energy_uj, decision, observed, {outcome}"
               " FROM events WHERE id < ?")
        params: list[Any] = [before_id if before_id is not None else 2**62]
        for column, value in (("loop", loop), ("decision", decision)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(str(value))
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
        if self.schema_version < 2:
            rows = [codec.legacy_event_row(row) for row in rows]
        return [codec.decode_event(row) for row in rows]

    def last_event_id(self) -> int:
        return int(self._db.execute("SELECT MAX(id) FROM events").fetchone()[0] or 0)

    def event_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    # -- state -----------------------------------------------------------------------------

    def get_state(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        if row is None:
            return default
        try:
            return json.loads(row[0])
        except ValueError:
            raise WorkspaceError(f"{self.path}: knowledge state {key!r} is not valid JSON: {row[0][:60]!r}") from None

    def loop_state(self, loop: LoopName) -> LoopState | None:
        """A loop's stored state; None before its first run."""
        raw = self.get_state(LOOP_KEYS[LoopName(loop)])
        return None if raw is None else codec.decode_loop_state(LoopName(loop), raw)

    def save_loop_state(self, state: LoopState) -> None:
        self.set_state({LOOP_KEYS[state.loop]: codec.encode_loop_state(state)})

    def set_state(self, items: Mapping[str, Any]) -> None:
        """Write several keys in one transaction, so readers never see half an update."""
        with self._transaction():
            self._db.executemany(_UPSERT_STATE, [(k, codec.dumps(v)) for k, v in items.items()])

    def delete_state(self, keys: Iterable[str]) -> None:
        with self._transaction():
            self._db.executemany("DELETE FROM state WHERE key = ?", [(k,) for k in keys])

    def clear(self, keep: Mapping[str, Any] | None = None) -> tuple[int, int]:
        """Forget predictions, events and state but ``keep``, in one transaction (a reset).

        Returns how many predictions and events were removed.
        """
        with self._transaction():
            predictions = int(self._db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0])
            events = int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
            self._db.execute("DELETE FROM predictions")
            self._db.execute("DELETE FROM pending_predictions")
            self._db.execute("DELETE FROM events")
            self._db.execute("DELETE FROM state")
            self._db.executemany("INSERT INTO state (key, value) VALUES (?, ?)",
                                 [(k, codec.dumps(v)) for k, v in (keep or {}).items()])
        return predictions, events

    # -- internals -------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        if self.readonly:
            raise WorkspaceError(f"{self.path}: opened read-only; nothing can be written")
        identity = getattr(self, "_identity", None)
        if identity is not None and _identity(self.path) != identity:
            raise WorkspaceError(f"{self.path}: the knowledge base was removed or replaced while this process"
                                 f" used it; nothing more is written (restart the command)")
        return _Transaction(self._db, self.path)


def _write_export(path: Path, chunks: Iterator[Predictions]) -> int:
    """The export CSV of the chunks of the log; returns the number of rows."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for chunk in chunks:
            for i in range(len(chunk)):
                writer.writerow((repr(float(chunk.true_value[i])), repr(float(chunk.predicted_value[i])),
                                 chunk.model[i], int(chunk.version[i]), repr(float(chunk.latency_s[i])),
                                 repr(float(chunk.energy_uj[i])), _optional(chunk.model_energy_uj[i])))
            count += len(chunk)
    return count


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _explain(path: Path, exc: sqlite3.Error) -> str:
    """The SQLite error, naming who holds the workspace when the database is locked."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        from harmone.lock import describe_holders

        return f"{text} after {LOCK_WAIT_S:g} s; {describe_holders(path.parent)}"
    return text


class _Transaction:
    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._path = path

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise WorkspaceError(f"{self._path}: cannot write the knowledge base ({_explain(self._path, exc)})") \
                from None

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def _to_predictions(rows: list[tuple[Any, ...]]) -> Predictions:
    if not rows:
        empty = np.empty(0)
        return Predictions(np.empty(0, dtype=np.int64), empty, empty, empty, np.empty(0, dtype=object),
                           np.empty(0, dtype=np.int64), empty, empty, empty)
    cols = list(zip(*rows))
    return Predictions(
        row_id=np.array(cols[0], dtype=np.int64),
        time_s=np.array(cols[1], dtype=np.float64),
        true_value=np.array(cols[2], dtype=np.float64),
        predicted_value=np.array(cols[3], dtype=np.float64),
        model=np.array(cols[4], dtype=object),
        version=np.array(cols[5], dtype=np.int64),
        latency_s=np.array(cols[6], dtype=np.float64),
        energy_uj=np.array(cols[7], dtype=np.float64),
        model_energy_uj=np.array([np.nan if v is None else v for v in cols[8]], dtype=np.float64),
    )


def _optional(value: float) -> str:
    """A CSV cell for a value that may be unknown (NaN): empty when unknown."""
    return "" if value != value else repr(float(value))
