"""``/metrics``: the deployment in Prometheus text format, following Prometheus' naming conventions.

Energy is in joules (``_joules_total``), counters end in ``_total`` and every family's HELP
says what it counts. The counters come from the dashboard's ``History``, which reads the
whole history once when the dashboard starts (in the background) and afterwards only the
rows and events logged since, so a scrape costs the same at any length of history. Loop
run durations come from each loop's stored state (the wall seconds of its last run), not
from events, which a seeded replay must record identically.

The rolling gauges are named for the workspace's task: ``harmone_rolling_<metric>`` and
``harmone_rolling_<skill>`` (``harmone_rolling_r2`` and ``harmone_rolling_skill`` for
forecasting, as before; ``harmone_rolling_accuracy`` and ``harmone_rolling_kappa_temporal``
for classification), so a dashboard built on one never reads another task's figure.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

import harmone.dashboard.views as views
from harmone.dashboard.history import History
from harmone.knowledge import KnowledgeStore, LoopName
from harmone.knowledge.events import LOOP_NAMES
from harmone.report.words import words
from harmone.repository import ModelRepository
from harmone.status import RECENT_ROWS
from harmone.workspace import Workspace

#: Microjoules in a joule: the knowledge base stores µJ, Prometheus wants base units.
UJ_PER_J = 1e6


def metric_name(text: str) -> str:
    """A figure's name as a Prometheus name: ``R²`` -> ``r2``, ``kappa-temporal`` -> ``kappa_temporal``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower().replace("²", "2")).strip("_")


def _counter(name: str, doc: str, labels: list[str], values: dict[tuple[str, ...], float]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


class KnowledgeCollector:
    """Counters from the shared ``History``; gauges from the newest rows and the loops' state."""

    def __init__(self, workspace: Workspace, history: History) -> None:
        self.workspace = workspace
        self.history = history
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock, views.reading(self.workspace) as store:
            gauges = [] if store is None else list(self._gauges(store))
            if store is not None:
                self.history.catch_up(store)
            yield from self._counters()
            yield from gauges

    def _counters(self) -> Iterator[Metric]:
        totals, last_row = self.history.counters()
        yield _counter("harmone_predictions", "Predictions logged, by the model that made them", ["model"],
                       {(model,): count for model, count in totals.predictions.items()})
        yield _counter("harmone_prediction_energy_joules",
                       "Energy charged to logged predictions, in joules, by model", ["model"],
                       {(model,): uj / UJ_PER_J for model, uj in totals.energy_uj.items()})
        yield _counter("harmone_adaptation_energy_joules",
                       "Energy the loops spent watching, deciding and acting (retraining included), in joules, by loop",
                       ["loop"], {(loop,): uj / UJ_PER_J for loop, uj in totals.adaptation_uj.items()})
        yield _counter("harmone_retraining_energy_joules",
                       "Energy of loop runs that retrained (fitting and storing a new version), in joules, "
                       "by the loop that started them (drift or retrain)", ["loop"],
                       {(loop,): uj / UJ_PER_J for loop, uj in totals.retraining_uj.items()})
        yield _counter("harmone_retrainings", "Retrainings started, by the loop that started them", ["loop"],
                       {(loop,): count for loop, count in totals.retrainings.items()})
        yield _counter("harmone_decisions",
                       "Events recorded: one per run of a loop (loop switch, drift or retrain) and one per action "
                       "an operator took from the dashboard (loop operator), by decision", ["loop", "decision"],
                       {key: count for key, count in totals.decisions.items()})
        yield GaugeMetricFamily("harmone_last_row_id", "Newest logged prediction row id", value=last_row)

    def _gauges(self, store: KnowledgeStore) -> Iterator[Metric]:
        recent = store.latest_predictions(RECENT_ROWS + 1)
        if len(recent) > 2:
            task = views.task_of(self.workspace)
            said = words(task)
            truth, predicted = recent.true_value[1:], recent.predicted_value[1:]
            yield GaugeMetricFamily(f"harmone_rolling_{metric_name(said.metric)}",
                                    f"{said.metric} over the newest {RECENT_ROWS} predictions",
                                    value=task.accuracy(truth, predicted))
            yield GaugeMetricFamily(
                f"harmone_rolling_{metric_name(said.skill)}",
                f"{said.skill_over.capitalize()} of the newest {RECENT_ROWS} predictions: its baseline predicts each "
                f"row's previous true value; 1 is perfect, above 0 beats the baseline",
                value=task.skill(truth, predicted, recent.true_value[:-1]))
        drift = store.loop_state(LoopName.DRIFT)
        drift_score = getattr(drift, "last_score", None)
        if drift_score is not None:
            yield GaugeMetricFamily("harmone_drift_score", "The drift detector's last score", value=drift_score)
        states = [store.loop_state(LoopName(loop)) for loop in LOOP_NAMES]
        durations = {state.loop.value: state.last_run_s for state in states
                     if state is not None and state.last_run_s is not None}
        if durations:
            gauge = GaugeMetricFamily("harmone_loop_last_run_seconds", "Wall seconds of each loop's last run",
                                      labels=["loop"])
            for loop, seconds in sorted(durations.items()):
                gauge.add_metric([loop], seconds)
            yield gauge
        active = self.workspace.read_active_model()
        if active is not None:
            version = ModelRepository(self.workspace).active_version(active)
            gauge = GaugeMetricFamily("harmone_active_model", "1 for the model and version serving",
                                      labels=["model", "version"])
            gauge.add_metric([active, "" if version is None else str(version)], 1)
            yield gauge


class Exporter:
    """A registry holding one ``KnowledgeCollector``; ``text()`` is the scrape's answer."""

    def __init__(self, workspace: Workspace, history: History) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = KnowledgeCollector(workspace, history)
        self.registry.register(self.collector)  # type: ignore[arg-type]

    def text(self) -> bytes:
        return generate_latest(self.registry)
