"""What the dashboard keeps of the whole history, read once and extended as rows and events arrive.

Three things need all of the history, not just its newest rows: the History chart (with
its event markers), the energy table and the Prometheus counters. Reading a million rows
for each would cost a second per request, so one ``History`` per dashboard reads the
history once (in the background when the dashboard starts) and then only what was logged
since:

- predictions as buckets of ``BASE_ROWS`` ids (min and max of truth and prediction, clock
  time, rows, energy), from which any range of the chart is drawn by min/max per group of
  buckets, so a peak is never skipped and a daily cycle never aliases into a false one
  (a zoomed-in range is drawn from its rows);
- per model: predictions and energy; per loop: decisions, adaptation and retraining energy;
- every event that changed something, as a chart marker, and which run made which version.

A reset workspace (fewer rows than seen, or a different row where the last one was) is
read again from the start.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import harmone.dashboard.series as series
import harmone.dashboard.views as views
from harmone.knowledge import Action, Decision, Event, KnowledgeStore
from harmone.workspace import Workspace

#: Ids per stored bucket: 1 000 000 rows keep 15 625 buckets (under a megabyte).
BASE_ROWS = 64
#: Columns of a stored bucket (``KnowledgeStore.prediction_buckets_after`` without its model).
_NUMBER, _FIRST, _LAST, _ROWS, _T0, _T1, _TMIN, _TMAX, _PMIN, _PMAX, _ENERGY = range(11)


@dataclass
class Totals:
    """Running totals over the whole history (what ``/metrics`` counts)."""

    predictions: dict[str, int] = field(default_factory=dict)
    energy_uj: dict[str, float] = field(default_factory=dict)
    decisions: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Energy of loop runs by loop (everything a loop spent, its retrainings included), µJ.
    adaptation_uj: dict[str, float] = field(default_factory=dict)
    #: The part of ``adaptation_uj`` spent by runs that retrained, µJ.
    retraining_uj: dict[str, float] = field(default_factory=dict)
    retrainings: dict[str, int] = field(default_factory=dict)


def _add(table: dict[Any, Any], key: Any, value: float) -> None:
    table[key] = table.get(key, 0) + value


class History:
    """The whole history of one workspace, summarised; every method is safe from any thread."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._lock = threading.Lock()
        self._read_at = -math.inf
        self._reset()

    def _reset(self) -> None:
        self.totals = Totals()
        self.last_row = 0
        self.last_event = 0
        self._buckets = np.empty((0, 11))
        self._tail = np.empty((0, 11))  # the newest bucket while it is not full
        self._complete_row = 0
        # Per model (rows, energy µJ): of the full buckets, and of the tail (replaced at each read).
        self._settled: dict[str, tuple[int, float]] = {}
        self._unsettled: dict[str, tuple[int, float]] = {}
        self._fingerprint: tuple[float, float] | None = None
        self.markers: list[dict[str, Any]] = []
        self.lineage: dict[tuple[str, int], dict[str, Any]] = {}
        self._marker_row = 0

    # -- reading ---------------------------------------------------------------------------

    def catch_up(self, store: KnowledgeStore | None = None, *, unless_within_s: float = 0.0) -> None:
        """Read what was logged since the last call (all of it the first time); nothing when the
        last read is less than ``unless_within_s`` old (live updates come five times a second)."""
        if unless_within_s and time.monotonic() - self._read_at < unless_within_s:
            return
        with self._lock:
            self._read_at = time.monotonic()
            if store is not None:
                self._catch_up(store)
                return
            with views.reading(self.workspace) as opened:
                if opened is None:
                    self._reset()
                else:
                    self._catch_up(opened)

    def _catch_up(self, store: KnowledgeStore) -> None:
        newest = store.last_row_id()
        if newest < self.last_row or store.last_event_id() < self.last_event or not self._same_last_row(store):
            self._reset()
        if newest > self.last_row:
            self._read_rows(store)
            last = store.predictions_after(self.last_row - 1, limit=1)
            self._fingerprint = (float(last.time_s[0]), float(last.true_value[0])) if len(last) else None
        for event in store.events(self.last_event):
            self._count(event)
            self.last_event = event.id or self.last_event

    def _same_last_row(self, store: KnowledgeStore) -> bool:
        if self._fingerprint is None or self.last_row == 0:
            return True
        row = store.predictions_after(self.last_row - 1, limit=1)
        return len(row) == 1 and int(row.row_id[0]) == self.last_row and \
            (float(row.time_s[0]), float(row.true_value[0])) == self._fingerprint

    def _read_rows(self, store: KnowledgeStore) -> None:
        """Rows after the last full bucket, in one pass: buckets and per-model totals. The newest
        bucket, while not full, is kept apart and read again next time."""
        read = store.prediction_buckets_after(self._complete_row, BASE_ROWS)
        if not read:
            return
        numbers = np.array([r[0] for r in read], dtype=np.float64)
        values = np.array([r[2:] for r in read], dtype=np.float64)
        by_model = np.column_stack([numbers, values])  # the bucket columns, one row per bucket and model
        last = int(numbers[-1])
        full = values[numbers == last, 1].max() >= (last + 1) * BASE_ROWS
        settled = np.ones(len(read), dtype=bool) if full else numbers != last
        self._unsettled = {}
        for (_, model, *_rest), done, row in zip(read, settled, by_model):
            target = self._settled if done else self._unsettled
            count, energy = target.get(model, (0, 0.0))
            target[model] = (count + int(row[_ROWS]), energy + float(row[_ENERGY]))
        self.totals.predictions = {m: self._settled.get(m, (0, 0.0))[0] + self._unsettled.get(m, (0, 0.0))[0]
                                   for m in {*self._settled, *self._unsettled}}
        self.totals.energy_uj = {m: self._settled.get(m, (0, 0.0))[1] + self._unsettled.get(m, (0, 0.0))[1]
                                 for m in {*self._settled, *self._unsettled}}
        buckets = _combine(by_model, np.flatnonzero(np.r_[True, numbers[1:] != numbers[:-1]]))
        done = buckets if full else buckets[:-1]
        self._tail = np.empty((0, 11)) if full else buckets[-1:]
        if len(done):
            self._buckets = np.concatenate([self._buckets, done])
            self._complete_row = int(done[-1, _LAST])
        self.last_row = max(self.last_row, int(values[:, 1].max()))

    def _count(self, event: Event) -> None:
        totals = self.totals
        loop = event.loop.value
        _add(totals.decisions, (loop, event.decision.value), 1)
        if event.decision is not Decision.OPERATOR:
            _add(totals.adaptation_uj, loop, event.energy_uj)
            if event.action is Action.RETRAIN:
                _add(totals.retraining_uj, loop, event.energy_uj)
                _add(totals.retrainings, loop, 1)
        found = views.markers([event], self._marker_row)
        if found:
            self._marker_row = found[0]["row"]
            self.markers.append(found[0])
        seen = event.observed
        if event.model and isinstance(seen.get("new_version"), int):
            self.lineage[(event.model, seen["new_version"])] = {
                "event": event.id, "loop": loop, "decision": event.decision.value,
                "outcome": None if event.outcome is None else event.outcome.value,
                "row": seen.get("last_row_id"), "values": seen.get("n_train_values"),
                "holdout_r2": seen.get("holdout_r2"), "serving_holdout_r2": seen.get("serving_holdout_r2"),
                "energy_uj": event.energy_uj}

    # -- what the pages and /metrics get -----------------------------------------------------

    def counters(self) -> tuple[Totals, int]:
        """A copy of the running totals and the newest row they count (for one scrape)."""
        with self._lock:
            t = self.totals
            return Totals(dict(t.predictions), dict(t.energy_uj), dict(t.decisions), dict(t.adaptation_uj),
                          dict(t.retraining_uj), dict(t.retrainings)), self.last_row

    def energy_per_model(self) -> dict[str, dict[str, float | int]]:
        """Per model: predictions logged and mean energy per prediction (µJ) over the whole history."""
        with self._lock:
            return {model: {"predictions": count,
                            "mean_uj": self.totals.energy_uj[model] / count if count else 0.0}
                    for model, count in sorted(self.totals.predictions.items())}

    def chart(self, store: KnowledgeStore | None, first: int | None, last: int | None, points: int) -> dict[str, Any]:
        """The history from row ``first`` to ``last`` in about ``points`` groups: each group is drawn
        as its minimum and its maximum (two points), so nothing between two drawn points is lost.

        A range shorter than ``points`` buckets is grouped from its rows instead.
        """
        with self._lock:
            newest = self.last_row
            lo = max(1, first or 1)
            hi = min(newest if last is None else last, newest)
            if store is None or hi < lo:
                return _chart(np.empty((0, 11)), lo, hi, 1)
            if hi - lo + 1 <= points * BASE_ROWS:
                rows = store.predictions_after(lo - 1, limit=hi - lo + 1)
                groups = _row_buckets(rows)
            else:
                every = np.concatenate([self._buckets, self._tail])
                groups = every[(every[:, _LAST] >= lo) & (every[:, _FIRST] <= hi)]
            size = max(1, math.ceil(len(groups) / max(points, 1)))
            return _chart(_merge(groups, size), lo, hi, size)

    @property
    def bucket_count(self) -> int:
        """Stored buckets (``BASE_ROWS`` rows each): the memory the chart keeps."""
        return len(self._buckets) + len(self._tail)

    def lineage_table(self) -> dict[tuple[str, int], dict[str, Any]]:
        """(kind, version) -> the loop run that trained it: event, loop, decision, newest row it had seen."""
        with self._lock:
            return dict(self.lineage)

    def markers_between(self, first: int, last: int) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.markers if first <= m["row"] <= last]


def _row_buckets(rows: Any) -> np.ndarray:
    """Rows as one-row buckets (the same columns as stored buckets)."""
    n = len(rows)
    out = np.empty((n, 11))
    ids = rows.row_id.astype(np.float64)
    out[:, _NUMBER] = ids
    out[:, _FIRST] = out[:, _LAST] = ids
    out[:, _ROWS] = 1
    out[:, _T0] = out[:, _T1] = rows.time_s
    out[:, _TMIN] = out[:, _TMAX] = rows.true_value
    out[:, _PMIN] = out[:, _PMAX] = rows.predicted_value
    out[:, _ENERGY] = rows.energy_uj
    return out


def _combine(buckets: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The buckets from each start to the next merged into one (min of mins, max of maxes, sums)."""
    out = np.empty((len(starts), 11))
    out[:, _NUMBER] = buckets[starts, _NUMBER]
    for column, reduce in ((_FIRST, np.minimum), (_T0, np.minimum), (_TMIN, np.minimum), (_PMIN, np.minimum),
                           (_LAST, np.maximum), (_T1, np.maximum), (_TMAX, np.maximum), (_PMAX, np.maximum),
                           (_ROWS, np.add), (_ENERGY, np.add)):
        out[:, column] = reduce.reduceat(buckets[:, column], starts)
    return out


def _merge(buckets: np.ndarray, size: int) -> np.ndarray:
    """Consecutive groups of ``size`` buckets merged into one."""
    if size <= 1 or not len(buckets):
        return buckets
    return _combine(buckets, np.arange(0, len(buckets), size))


def _pairs(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """low0, high0, low1, high1, …: each group as its minimum then its maximum."""
    return np.column_stack([low, high]).reshape(-1)


def _chart(groups: np.ndarray, first: int, last: int, size: int) -> dict[str, Any]:
    rows = groups[:, _ROWS]
    with np.errstate(divide="ignore", invalid="ignore"):
        energy = np.where(rows > 0, groups[:, _ENERGY] / rows, np.nan)
    single = len(groups) and (groups[:, _FIRST] == groups[:, _LAST]).all()
    if single:  # one row per point: no min/max pairs needed
        x, time_s = groups[:, _FIRST], groups[:, _T0]
        truth, pred, energy_uj = groups[:, _TMIN], groups[:, _PMIN], energy
    else:
        x = _pairs(groups[:, _FIRST], groups[:, _LAST])
        time_s = _pairs(groups[:, _T0], groups[:, _T1])
        truth, pred = _pairs(groups[:, _TMIN], groups[:, _TMAX]), _pairs(groups[:, _PMIN], groups[:, _PMAX])
        energy_uj = np.repeat(energy, 2)
    return {"first": first, "last": last, "rows_per_group": int(size) if not single else 1,
            "x": [int(v) for v in x.tolist()], "time_s": series.finite_list(time_s, 3),
            "truth": series.finite_list(truth, 3), "pred": series.finite_list(pred, 3),
            "energy_uj": series.finite_list(energy_uj, 3)}

