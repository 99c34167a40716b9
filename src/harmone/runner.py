"""Inference and management in one process: one approach over the test stream, summarised.

``run_approach`` runs an approach in a ``Session`` (used by ``harmone run`` and by
experiments that compare approaches): the session's drive loop asks the manager after
every prediction whether a loop is due (a float comparison), and only then flushes the
buffered predictions, so the loop sees them, and runs the loops.

- Simulated (``simulate=True``): a ``SimulatedClock`` advances by the stream cadence per
  prediction, retraining runs inline while simulated time stands still, and with the fake
  meter and a seed two runs take identical decisions.
- Live: real (optionally scaled) time, the engine idles between predictions, retraining
  runs in a child process so it never stalls inference.

Energy is split honestly: the engine meters only its own steps, so loop and retraining
energy is never charged to predictions; each loop measures its own runs, and that energy
is recorded with its events (adaptation energy). The result's figures are read back from
the rows the run logged (by row id), never kept in memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from harmone import lock
from harmone.approaches import Approach, get_approach
from harmone.clock import Clock, SimulatedClock, WallClock
from harmone.config import MAX_SEED
from harmone.config_reload import CHECK_EVERY_S
from harmone.energy.base import EnergyMeter
from harmone.energy.model import ModelledRetrainer, ModelMeter
from harmone.errors import HarmonEError
from harmone.inference import Prediction
from harmone.knowledge import Event, KnowledgeStore, count_events
from harmone.mape.execute import InlineRetrainer, Retrainer, SubprocessRetrainer

from harmone.mape.state import choose_model, clear_loop_state, use_model
from harmone import tasks
from harmone.tasks import Task
from harmone.report.results import RunResult
from harmone.session import PROGRESS_EVERY, Progress, Session
from harmone.workspace import Workspace

__all__ = ["PROGRESS_EVERY", "Progress", "RunResult", "row_figures", "run_approach", "run_inference"]

#: Why a live run refuses the model meter.
MODEL_METER_LIVE = "the model meter charges modelled energy in simulated runs only"
#: Rows read per query when summarising a run.
SUMMARY_BATCH = 4096


def run_approach(workspace: Workspace, approach: Approach | str, *, steps: int | None = None, seed: int = 0,
                 simulate: bool = True, meter: EnergyMeter | None = None, clock: Clock | None = None,
                 progress: Progress | None = None, time_scale: float = 1.0, from_start: bool = True,
                 initial_model: str | None = None, retrainer: Retrainer | None = None,
                 on_event: Callable[[Event], None] | None = None, stop: threading.Event | None = None,
                 handle_signals: bool = False) -> RunResult:
    """Stream the test data through the approach's model(s) while its loops manage them.

    ``from_start`` (the default) makes the run an episode of its own: the stream restarts
    at its beginning and the loops start from the configured defaults (EMAs, budget,
    schedules). Models are used as the repository has them; for runs that must be
    comparable, start each from the same trained repository. ``initial_model`` picks the
    first model of an adaptive approach (default: the one ``model.csv`` names).
    ``meter`` defaults to ``energy.detect`` for the workspace (closed at the end);
    ``clock`` to a ``SimulatedClock`` (simulated) or a ``WallClock(time_scale)`` (live).
    Setting ``stop`` (or, with ``handle_signals``, SIGINT/SIGTERM) ends the run early.
    A live run follows harmone.toml (``harmone.config_reload``); a simulated one keeps the
    settings it started with, so a replay stays a replay.
    """
    approach = get_approach(approach) if isinstance(approach, str) else approach
    if steps is not None and steps <= 0:
        raise HarmonEError(f"steps = {steps} must be positive")
    check_seed(seed)
    if isinstance(meter, ModelMeter) and not simulate:
        raise HarmonEError(MODEL_METER_LIVE)
    # Every lock before the first write: a run refused by a running infer or manage changes nothing.
    with lock.hold(workspace.knowledge_dir, lock.LOCK_NAMES, "harmone run"):
        model = choose_model(workspace, approach, initial_model)
        check_serving(workspace, model)
        return _run_approach(workspace, approach, model, steps=steps, seed=seed, simulate=simulate, meter=meter,
                             clock=clock, progress=progress, time_scale=time_scale, from_start=from_start,
                             retrainer=retrainer, on_event=on_event, stop=stop, handle_signals=handle_signals)


def _run_approach(workspace: Workspace, approach: Approach, model: str, *, steps: int | None, seed: int,
                  simulate: bool, meter: EnergyMeter | None, clock: Clock | None, progress: Progress | None,
                  time_scale: float, from_start: bool, retrainer: Retrainer | None,
                  on_event: Callable[[Event], None] | None, stop: threading.Event | None,
                  handle_signals: bool) -> RunResult:
    """``run_approach`` once its locks are held and its inputs checked: reads first, then writes."""
    if clock is None:
        clock = SimulatedClock() if simulate else WallClock(time_scale=time_scale)
    started_wall = time.perf_counter()
    events: list[Event] = []

    def collect(event: Event) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)

    with Session(workspace, meter=meter, clock=clock, stop=stop, handle_signals=handle_signals,
                 config_check_s=None if simulate else CHECK_EVERY_S) as session:
        # With the model meter, predictions, loop runs and retrainings charge the model's costs.
        costs = session.meter if isinstance(session.meter, ModelMeter) else None
        if costs is not None and not simulate:
            raise HarmonEError(MODEL_METER_LIVE)
        session.start_engine(from_start=from_start, costs=costs)  # the first write, once the stream checks out
        use_model(workspace, model)
        if from_start:
            clear_loop_state(session.store)
        first_row_id = session.store.last_row_id() + 1
        start_s = clock.now()
        if retrainer is None:
            retrainer = (ModelledRetrainer(workspace, session.config, costs) if costs is not None
                         else InlineRetrainer(workspace, session.config, session.meter) if simulate
                         else SubprocessRetrainer(workspace))
        session.start_manager(approach, retrainer=retrainer, seed=seed, on_event=collect, costs=costs)
        drive = session.drive(steps, interval_s=None, progress=progress)
        if drive.finished and not simulate:
            session.finish_jobs()  # a run that ended by itself lets running retraining finish
        meter_kind, meter_source = session.meter.kind, session.meter.source
    # The session is closed: every row is flushed, jobs cancelled, the clock saved.
    return _result(approach.name, workspace, first_row_id, drive.done, meter_kind, meter_source, events=events,
                   seed=seed, simulated=simulate, duration_s=clock.now() - start_s,
                   wall_time_s=time.perf_counter() - started_wall)


def run_inference(workspace: Workspace, *, steps: int | None = None, interval_s: float | None = 0.0,
                  clock: Clock | None = None, meter: EnergyMeter | None = None, from_start: bool = False,
                  on_prediction: Callable[[Prediction], None] | None = None,
                  warn: Callable[[str], None] | None = None, stop: threading.Event | None = None,
                  handle_signals: bool = False, follow_config: bool = False) -> RunResult:
    """Stream the test data through the active model, unmanaged (`harmone infer`).

    Continues at the stored stream position unless ``from_start``. Nothing per prediction
    is kept: ``on_prediction`` sees each one, the result is read back from the logged rows.
    ``interval_s`` None idles for the configured cadence; ``follow_config`` takes up a
    changed harmone.toml while streaming (``harmone.config_reload``).
    """
    started_wall = time.perf_counter()
    clock = clock if clock is not None else SimulatedClock()
    with lock.hold(workspace.knowledge_dir, [lock.INFERENCE], "inference"):
        check_serving(workspace)  # a model that cannot serve fails before the knowledge base is touched
        return _run_inference(workspace, steps=steps, interval_s=interval_s, clock=clock, meter=meter,
                              from_start=from_start, on_prediction=on_prediction, warn=warn, stop=stop,
                              handle_signals=handle_signals, started_wall=started_wall,
                              follow_config=follow_config)


def _run_inference(workspace: Workspace, *, steps: int | None, interval_s: float | None, clock: Clock,
                   meter: EnergyMeter | None, from_start: bool, on_prediction: Callable[[Prediction], None] | None,
                   warn: Callable[[str], None] | None, stop: threading.Event | None, handle_signals: bool,
                   started_wall: float, follow_config: bool) -> RunResult:
    with Session(workspace, meter=meter, clock=clock, stop=stop, handle_signals=handle_signals,
                 config_check_s=CHECK_EVERY_S if follow_config else None) as session:
        session.start_engine(from_start=from_start, warn=warn)
        first_row_id = session.store.last_row_id() + 1
        start_s = clock.now()
        drive = session.drive(steps, interval_s=interval_s, on_prediction=on_prediction)
        meter_kind, meter_source = session.meter.kind, session.meter.source
    return _result("unmanaged", workspace, first_row_id, drive.done, meter_kind, meter_source, simulated=False,
                   duration_s=clock.now() - start_s, wall_time_s=time.perf_counter() - started_wall)


def _result(approach: str, workspace: Workspace, first_row_id: int, done: int, meter_kind: str, meter_source: str,
            *, events: Sequence[Event] = (), seed: int = 0, simulated: bool, duration_s: float,
            wall_time_s: float) -> RunResult:
    """A finished run's result: figures over the rows it logged, counts over its events."""
    with KnowledgeStore(workspace.db_path) as store:
        last_row_id = store.last_row_id() if done else first_row_id - 1
        figures = row_figures(store, first_row_id, last_row_id, workspace.config.task)
    counts = count_events(list(events))
    n = figures["n"]
    return RunResult(
        approach=approach, simulated=simulated, predictions=n, r2=figures["r2"], mae=figures["mae"],
        inference_energy_uj=figures["energy_uj"], adaptation_energy_uj=counts.energy_uj,
        retraining_energy_uj=counts.retraining_energy_uj,
        latency_mean_s=figures["latency_mean_s"], latency_p95_s=figures["latency_p95_s"],
        switches=counts.switches, reuses=counts.reuses, retrains=counts.retrains,
        drift_detections=counts.drift_detections, retrain_failures=counts.failures, keeps=counts.keeps,
        meter_kind=meter_kind, meter_source=meter_source,
        first_row_id=first_row_id if n else 0, last_row_id=last_row_id if n else 0,
        duration_s=duration_s, wall_time_s=wall_time_s, seed=seed, events=tuple(events),
        task=workspace.config.stream.task)


def check_serving(workspace: Workspace, model: str | None = None) -> None:
    """Serve one prediction into a scratch knowledge base, warnings muted.

    What the first real prediction would do, done before anything is written: a damaged
    or untrained model, an unreadable test stream, fail here with their one-line error.
    ``model`` serves that kind (what ``model.csv`` will name); None follows ``model.csv``.
    """
    from harmone.energy.fake import FakeMeter
    from harmone.inference import InferenceEngine
    from harmone.testing import memory_store

    with memory_store() as store:
        engine = InferenceEngine.for_workspace(workspace, store=store, meter=FakeMeter(), clock=SimulatedClock(),
                                               fixed_model=model, warn=lambda message: None)
        engine.step()


def check_seed(seed: int | None) -> None:
    """A seed numpy accepts: a whole number from 0 to ``config.MAX_SEED``."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise HarmonEError(f"seed {seed!r} must be a whole number from 0 to {MAX_SEED}")


def row_figures(store: KnowledgeStore, first_row_id: int, last_row_id: int, task: Task | None = None) -> dict[str, Any]:
    """Count, accuracy, inference energy and latency over rows first..last, in constant memory.

    ``r2`` is the task's metric (R², accuracy) and ``mae`` its mean error (absolute error, the
    share wrong); forecasting when no task is given.

    Rows are read in batches of ``SUMMARY_BATCH`` and folded into running sums; the 95th
    percentile of latency (interpolated like ``numpy.percentile``) is two order statistics
    that SQLite sorts out.
    """
    task = task or tasks.get("forecasting")
    scores = task.running_scores()
    energy_uj = latency_sum_s = 0.0
    after = first_row_id - 1
    while after < last_row_id:
        chunk = store.predictions_after(after, SUMMARY_BATCH)
        if not len(chunk):
            break
        keep = chunk.row_id <= last_row_id
        scores.update(chunk.true_value[keep], chunk.predicted_value[keep])
        latency_sum_s += float(chunk.latency_s[keep].sum())
        energy_uj += float(chunk.energy_uj[keep].sum())
        after = chunk.last_row_id
    n = scores.n
    if not n:
        return {"n": 0, "r2": None, "mae": None, "energy_uj": 0.0, "latency_mean_s": None, "latency_p95_s": None}
    metric, mean_error = task.read_scores(scores)
    return {"n": n, "r2": metric, "mae": mean_error, "energy_uj": energy_uj,
            "latency_mean_s": latency_sum_s / n, "latency_p95_s": _percentile_95(store, first_row_id, last_row_id, n)}


def _percentile_95(store: KnowledgeStore, first_row_id: int, last_row_id: int, n: int) -> float | None:
    position = 0.95 * (n - 1)
    low = int(position)
    below = store.latency_order_statistic(first_row_id, last_row_id, low)
    if below is None or low + 1 >= n:
        return below
    above = store.latency_order_statistic(first_row_id, last_row_id, low + 1)
    return below if above is None else below + (position - low) * (above - below)
