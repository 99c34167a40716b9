"""``/metrics``: the deployment in Prometheus text format, read incrementally.

A custom collector keeps running totals and, at each scrape, reads only the prediction rows
and events logged since the previous scrape (by row id), so a scrape costs the same at any
length of history. Loop run durations come from each loop's stored state (the wall seconds
of its last run), not from events, which a seeded replay must record identically.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

import harmone.dashboard.views as views
from harmone.knowledge import LoopName
from harmone.knowledge.events import LOOP_NAMES
from harmone.metrics import r2_score
from harmone.repository import ModelRepository
from harmone.status import RECENT_ROWS
from harmone.workspace import Workspace


class KnowledgeCollector:
    """Counters by model and decision, added up from the rows and events after the last scrape."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._lock = threading.Lock()
        self._last_row = 0
        self._last_event = 0
        self._predictions: dict[str, int] = {}
        self._energy: dict[str, float] = {}
        self._decisions: dict[tuple[str, str], int] = {}

    def _catch_up(self, store: Any) -> None:
        if store.last_row_id() < self._last_row:  # the workspace was reset: start again
            self._last_row, self._last_event = 0, 0
            self._predictions, self._energy, self._decisions = {}, {}, {}
        totals, self._last_row = store.model_totals_after(self._last_row)
        for model, (rows, energy) in totals.items():
            self._predictions[model] = self._predictions.get(model, 0) + rows
            self._energy[model] = self._energy.get(model, 0.0) + energy
        for event in store.events(self._last_event):
            key = (event.loop.value, event.decision.value)
            self._decisions[key] = self._decisions.get(key, 0) + 1
            self._last_event = event.id or self._last_event

    def collect(self) -> Iterator[Metric]:
        with self._lock, views.reading(self.workspace) as store:
            recent_r2, drift_score = None, None
            if store is not None:
                self._catch_up(store)
                recent = store.latest_predictions(RECENT_ROWS)
                if len(recent) > 1:
                    recent_r2 = r2_score(recent.true_value, recent.predicted_value)
                drift = store.loop_state(LoopName.DRIFT)
                drift_score = getattr(drift, "last_score", None)
                states = [store.loop_state(LoopName(loop)) for loop in LOOP_NAMES]
                durations = {state.loop.value: state.last_run_s for state in states
                             if state is not None and state.last_run_s is not None}
            else:
                durations = {}
            yield from self._families(recent_r2, drift_score)
            if durations:
                gauge = GaugeMetricFamily("harmone_loop_last_run_seconds", "Wall seconds of each loop's last run",
                                          labels=["loop"])
                for loop, seconds in sorted(durations.items()):
                    gauge.add_metric([loop], seconds)
                yield gauge

    def _families(self, recent_r2: float | None, drift_score: float | None) -> Iterator[Metric]:
        predictions = CounterMetricFamily("harmone_predictions", "Predictions logged, by model", labels=["model"])
        energy = CounterMetricFamily("harmone_prediction_energy_microjoules",
                                     "Energy of logged predictions in microjoules, by model", labels=["model"])
        for model in sorted(self._predictions):
            predictions.add_metric([model], self._predictions[model])
            energy.add_metric([model], self._energy[model])
        decisions = CounterMetricFamily("harmone_decisions", "Loop runs by loop and decision",
                                        labels=["loop", "decision"])
        for (loop, decision), count in sorted(self._decisions.items()):
            decisions.add_metric([loop, decision], count)
        yield from (predictions, energy, decisions)
        yield GaugeMetricFamily("harmone_last_row_id", "Newest logged prediction row id", value=self._last_row)
        if recent_r2 is not None:
            yield GaugeMetricFamily("harmone_rolling_r2", f"R² over the newest {RECENT_ROWS} predictions",
                                    value=recent_r2)
        if drift_score is not None:
            yield GaugeMetricFamily("harmone_drift_score", "The drift detector's last score", value=drift_score)
        active = self.workspace.read_active_model()
        if active is not None:
            version = ModelRepository(self.workspace).active_version(active)
            gauge = GaugeMetricFamily("harmone_active_model", "1 for the model and version serving",
                                      labels=["model", "version"])
            gauge.add_metric([active, "" if version is None else str(version)], 1)
            yield gauge


class Exporter:
    """A registry holding one ``KnowledgeCollector``; ``text()`` is the scrape's answer."""

    def __init__(self, workspace: Workspace) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = KnowledgeCollector(workspace)
        self.registry.register(self.collector)  # type: ignore[arg-type]

    def text(self) -> bytes:
        return generate_latest(self.registry)
