"""Inference and management in one process: one approach over the test stream, summarised.

``run_approach`` is the one in-process driver, used by ``harmone run`` and by experiments
that compare approaches. After every prediction it asks the manager whether a loop is
due (a float comparison); only then does it flush the buffered predictions, so the loop
sees them, and run the loops.

- Simulated (``simulate=True``): a ``SimulatedClock`` advances by the stream cadence per
  prediction, retraining runs inline while simulated time stands still, and with the fake
  meter and a seed two runs take identical decisions.
- Live: real (optionally scaled) time, the engine idles between predictions, retraining
  runs in a child process so it never stalls inference.

Energy is split honestly: the engine meters only its own steps, so loop and retraining
energy is never charged to predictions; each loop measures its own runs, and that energy
is recorded with its events (adaptation energy).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harmone.approaches import Approach, get_approach
from harmone.clock import Clock, SimulatedClock, WallClock
from harmone.energy.base import EnergyMeter
from harmone.errors import HarmonEError
from harmone.inference import InferenceEngine
from harmone.knowledge import Event, KnowledgeStore, count_events, keys
from harmone.mape.execute import InlineRetrainer, Retrainer, SubprocessRetrainer
from harmone.mape.manager import build_manager, save_clock
from harmone.mape.state import clear_loop_state, prepare_models
from harmone.metrics import mean_absolute_error, r2_score
from harmone.workspace import Workspace

#: Predictions between two progress callbacks.
PROGRESS_EVERY = 256
#: Rows read per query when summarising a run.
SUMMARY_BATCH = 50_000

#: progress(done, total): called every ``PROGRESS_EVERY`` predictions and at the end.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunSummary:
    """What one run did; energies in µJ, the rows and events it wrote by id range."""

    approach: str
    simulated: bool
    predictions: int
    r2: float | None
    mae: float | None
    #: Energy charged to predictions, and spent by the loops (checks, switches, reuse, retraining).
    inference_energy_uj: float
    adaptation_energy_uj: float
    #: The part of adaptation spent retraining (the rest: loop runs, switches, reuse).
    retraining_energy_uj: float
    latency_mean_s: float | None
    latency_p95_s: float | None
    switches: int
    reuses: int
    retrains: int
    drift_detections: int
    retrain_failures: int
    meter_kind: str
    meter_source: str
    #: Prediction-log rows of this run: ids first_row_id..last_row_id (0, 0 when none).
    first_row_id: int
    last_row_id: int
    #: Clock seconds the run covered (simulated or scaled), and the real seconds it took.
    duration_s: float
    wall_time_s: float
    seed: int
    #: Every event the managing system recorded during the run, in order.
    events: tuple[Event, ...] = field(default=(), repr=False)

    @property
    def energy_uj(self) -> float:
        return self.inference_energy_uj + self.adaptation_energy_uj

    @property
    def energy_mj_per_prediction(self) -> float | None:
        """Total energy per prediction in mJ (the published comparison's unit)."""
        return self.energy_uj / self.predictions / 1000.0 if self.predictions else None

    @property
    def first_event_id(self) -> int | None:
        return self.events[0].id if self.events else None

    @property
    def last_event_id(self) -> int | None:
        return self.events[-1].id if self.events else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (events by id range, not inline)."""
        return {
            "approach": self.approach, "simulated": self.simulated, "seed": self.seed,
            "predictions": self.predictions, "r2": self.r2, "mae": self.mae,
            "inference_energy_uj": self.inference_energy_uj, "adaptation_energy_uj": self.adaptation_energy_uj,
            "retraining_energy_uj": self.retraining_energy_uj,
            "energy_mj_per_prediction": self.energy_mj_per_prediction,
            "latency_mean_s": self.latency_mean_s, "latency_p95_s": self.latency_p95_s,
            "switches": self.switches, "reuses": self.reuses, "retrains": self.retrains,
            "drift_detections": self.drift_detections, "retrain_failures": self.retrain_failures,
            "meter_kind": self.meter_kind, "meter_source": self.meter_source,
            "first_row_id": self.first_row_id, "last_row_id": self.last_row_id,
            "first_event_id": self.first_event_id, "last_event_id": self.last_event_id,
            "events": len(self.events), "duration_s": self.duration_s, "wall_time_s": self.wall_time_s,
        }


def run_approach(workspace: Workspace, approach: Approach | str, *, steps: int | None = None, seed: int = 0,
                 simulate: bool = True, meter: EnergyMeter | None = None, clock: Clock | None = None,
                 progress: Progress | None = None, time_scale: float = 1.0, from_start: bool = True,
                 initial_model: str | None = None, retrainer: Retrainer | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> RunSummary:
    """Stream the test data through the approach's model(s) while its loops manage them.

    ``from_start`` (the default) makes the run an episode of its own: the stream restarts
    at its beginning and the loops start from the configured defaults (EMAs, budget,
    schedules). Models are used as the repository has them; for runs that must be
    comparable, start each from the same trained repository. ``initial_model`` picks the
    first model of an adaptive approach (default: the one ``model.csv`` names).
    ``meter`` defaults to ``energy.detect`` for the workspace; ``clock`` to a
    ``SimulatedClock`` (simulated) or a ``WallClock(time_scale)`` (live).
    """
    if isinstance(approach, str):
        approach = get_approach(approach)
    if steps is not None and steps <= 0:
        raise HarmonEError(f"steps = {steps} must be positive")
    config = workspace.config
    if initial_model is not None and approach.fixed_model is None:
        from harmone.repository import ModelRepository

        if initial_model not in ModelRepository(workspace).trained_kinds():
            raise HarmonEError(f"initial model {initial_model!r} has no trained version (run `harmone train`)")
        workspace.write_active_model(initial_model)
    prepare_models(workspace, approach)
    own_meter = meter is None
    if meter is None:
        from harmone.energy.detect import detect

        meter = detect(config.energy, scope="thread")
    if clock is None:
        clock = SimulatedClock() if simulate else WallClock(time_scale=time_scale)
    interval_s = config.stream.interval_s
    started_wall = time.perf_counter()
    events: list[Event] = []

    def collect(event: Event) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)

    with KnowledgeStore(workspace.db_path) as store:
        store.set_state({keys.METER: meter.describe()})
        if from_start:
            clear_loop_state(store)
        engine = InferenceEngine(workspace, store=store, meter=meter, clock=clock, config=config)
        if from_start:
            engine.restart()
        if engine.remaining <= 0:
            raise HarmonEError(f"end of the test stream reached ({workspace.test_path}); run from the start")
        first_row_id = store.last_row_id() + 1
        start_s = clock.now()
        if retrainer is None:
            retrainer = InlineRetrainer(workspace, config, meter) if simulate else SubprocessRetrainer(workspace)
        manager = build_manager(workspace, approach, store=store, meter=meter, retrainer=retrainer,
                                now=start_s, seed=seed, config=config, on_event=collect)
        total = engine.remaining if steps is None else min(steps, engine.remaining)
        done = 0
        finished = False
        try:
            while done < total:
                if should_stop is not None and should_stop():
                    break
                if engine.step() is None:
                    break
                done += 1
                now = clock.now()
                if manager.due(now):
                    engine.flush()  # the loops read the log: hand them every row so far
                    manager.tick(now)
                if progress is not None and done % PROGRESS_EVERY == 0:
                    progress(done, total)
                engine.idle(interval_s)
            # A run that ended by itself lets running retraining jobs finish; a stopped one cancels them.
            finished = done >= total or engine.remaining <= 0
        finally:
            engine.flush()
            if finished and not simulate:
                manager.finish(clock, should_stop=should_stop)
            manager.close()
            # A later `harmone manage` continues this run's schedule from where it ended.
            save_clock(store, clock)
            if own_meter:
                meter.close()
        if progress is not None:
            progress(done, total)
        last_row_id = store.last_row_id() if done else first_row_id - 1
        figures = _row_figures(store, first_row_id, last_row_id)
        duration_s = clock.now() - start_s
    counts = count_events(events)
    return RunSummary(
        approach=approach.name, simulated=simulate, predictions=figures["n"], r2=figures["r2"], mae=figures["mae"],
        inference_energy_uj=figures["energy_uj"], adaptation_energy_uj=counts.energy_uj,
        retraining_energy_uj=counts.retraining_energy_uj,
        latency_mean_s=figures["latency_mean_s"], latency_p95_s=figures["latency_p95_s"],
        switches=counts.switches, reuses=counts.reuses, retrains=counts.retrains,
        drift_detections=counts.drift_detections, retrain_failures=counts.failures,
        meter_kind=meter.kind, meter_source=meter.source,
        first_row_id=first_row_id if figures["n"] else 0, last_row_id=last_row_id if figures["n"] else 0,
        duration_s=duration_s, wall_time_s=time.perf_counter() - started_wall, seed=seed, events=tuple(events))


def _row_figures(store: KnowledgeStore, first_row_id: int, last_row_id: int) -> dict[str, Any]:
    """Accuracy, inference energy and latency over the run's rows, read in batches."""
    true: list[np.ndarray] = []
    predicted: list[np.ndarray] = []
    latency: list[np.ndarray] = []
    energy_uj = 0.0
    after = first_row_id - 1
    while after < last_row_id:
        chunk = store.predictions_after(after, SUMMARY_BATCH)
        if not len(chunk):
            break
        keep = chunk.row_id <= last_row_id
        true.append(chunk.true_value[keep])
        predicted.append(chunk.predicted_value[keep])
        latency.append(chunk.latency_s[keep])
        energy_uj += float(chunk.energy_uj[keep].sum())
        after = chunk.last_row_id
    if not true or not sum(len(t) for t in true):
        return {"n": 0, "r2": None, "mae": None, "energy_uj": 0.0, "latency_mean_s": None, "latency_p95_s": None}
    y_true, y_pred, lat = np.concatenate(true), np.concatenate(predicted), np.concatenate(latency)
    return {"n": int(len(y_true)), "r2": r2_score(y_true, y_pred) if len(y_true) > 1 else None,
            "mae": mean_absolute_error(y_true, y_pred), "energy_uj": energy_uj,
            "latency_mean_s": float(lat.mean()), "latency_p95_s": float(np.percentile(lat, 95))}
