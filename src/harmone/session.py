"""One composition root: the objects of a streaming process, built once, driven by one loop.

A ``Session`` owns what `harmone infer`, `harmone manage`, `harmone run` and the
experiments need: the workspace, the knowledge store, the energy meter, the clock, the
model repository, and (once started) the inference engine and the managing system. It
hands each its dependencies, and closing it closes everything it opened, whatever
happened: buffered predictions are flushed, running retraining jobs cancelled, the clock
saved for a later `harmone manage`, the store and the meter closed.

``drive`` is the only loop that moves a stream forward:

- with an engine: predict, run the loops that are due (after flushing, so they see every
  row), report progress, idle for the stream cadence;
- without one (`harmone manage` beside a separate `harmone infer`): sleep until a loop is
  due, run it, save the clock.

It stops when the stream or the requested steps end, or when the session's ``stop`` flag
is set. With ``handle_signals=True`` (the commands) SIGINT and SIGTERM set that flag, so a
process always stops between two steps, never in the middle of a write.

A session built with ``config_check_s`` follows harmone.toml while it drives
(``harmone.config_reload``): engine and loops take up a changed file from their next step.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any

from harmone import lock
from harmone.approaches import Approach
from harmone.clock import Clock, SimulatedClock
from harmone.config_reload import ConfigFollower, reload_events
from harmone.energy.base import EnergyMeter, ModelledCosts
from harmone.errors import HarmonEError
from harmone.inference import InferenceEngine, Prediction
from harmone.knowledge import Event, KnowledgeStore, keys
from harmone.mape.execute import Retrainer
from harmone.mape.manager import JOB_POLL_S, Manager, build_manager, check_stored_state, save_clock
from harmone.repository import ModelRepository
from harmone.workspace import Workspace

#: Predictions between two progress callbacks.
PROGRESS_EVERY = 256
#: Longest real sleep of a manager-only session between checks of the stop flag.
MAX_SLEEP_S = 1.0

#: progress(done, total): called every ``PROGRESS_EVERY`` predictions and at the end.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Drive:
    """How a drive ended: steps done out of those asked for, and whether it ran to its end."""

    done: int
    total: int
    #: True when the steps or the stream ran out; False when the stop flag ended it.
    finished: bool


class Session:
    """The objects of one streaming process; a context manager that always cleans up.

    ``meter`` and ``store`` default to the workspace's (``energy.detect`` and
    ``knowledge.db``) and are then closed with the session; ones passed in belong to the
    caller. ``clock`` defaults to a ``SimulatedClock``. ``config_check_s``: real seconds
    between looks at harmone.toml while driving (None: the settings stay as they started).
    """

    def __init__(self, workspace: Workspace, *, meter: EnergyMeter | None = None, clock: Clock | None = None,
                 store: KnowledgeStore | None = None, stop: threading.Event | None = None,
                 handle_signals: bool = False, config_check_s: float | None = None) -> None:
        self.workspace = workspace
        self.config = workspace.config
        self._follower = (None if config_check_s is None else
                          ConfigFollower(workspace.config_path, self.config, every_s=config_check_s))
        self._on_event: Callable[[Event], None] | None = None
        self._warn: Callable[[str], None] | None = None
        self.clock: Clock = clock if clock is not None else SimulatedClock()
        self.stop = stop if stop is not None else threading.Event()
        self.repository = ModelRepository(workspace)
        self.engine: InferenceEngine | None = None
        self.manager: Manager | None = None
        self._closers: list[Callable[[], None]] = []
        self._handle_signals = handle_signals
        self.store = store if store is not None else KnowledgeStore(workspace.db_path)
        if store is None:
            self._closers.append(self.store.close)
        try:
            if meter is None:
                from harmone.energy.detect import detect

                meter = detect(self.config.energy, scope="thread")
                self._closers.append(meter.close)
            self.meter = meter
        except BaseException:
            self.close()
            raise

    # -- lifetime --------------------------------------------------------------------------

    def __enter__(self) -> Session:
        if self._handle_signals:
            self._closers.append(_stop_on_signals(self.stop))
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Flush, cancel jobs, save the clock, close what the session opened; every step runs."""
        steps: list[Callable[[], None]] = []
        if self.engine is not None:
            steps.append(self.engine.flush)
        if self.manager is not None:
            manager = self.manager
            steps += [manager.close, lambda: save_clock(self.store, self.clock)]
        steps += reversed(self._closers)
        self.engine = self.manager = None
        self._closers = []
        _run_all(steps)

    # -- building --------------------------------------------------------------------------

    def start_engine(self, *, from_start: bool = False, fixed_model: str | None = None,
                     warn: Callable[[str], None] | None = None,
                     costs: ModelledCosts | None = None) -> InferenceEngine:
        """The inference engine over the test stream, at the stored position (or the start).

        Records which meter measures the energy of the rows it logs (``status`` shows it).
        ``costs`` is told of every prediction (a meter that models costs).
        """
        self._take_lock(lock.INFERENCE, "inference")
        self._warn = warn
        engine = InferenceEngine.for_workspace(
            self.workspace, store=self.store, meter=self.meter, clock=self.clock, config=self.config,
            repository=self.repository, fixed_model=fixed_model, warn=warn, costs=costs)
        self.store.last_row_id()  # the log must read (a damaged one fails here) before anything is written
        if not from_start and engine.remaining <= 0:  # refused before anything is written
            raise HarmonEError(f"end of the test stream reached ({self.workspace.test_path}); run from the start"
                               f" (`harmone infer --from-start`)")
        self.engine = engine
        self.store.set_state({keys.METER: self.meter.describe()})
        if from_start:
            engine.restart()
        return engine

    def start_manager(self, approach: Approach, *, retrainer: Retrainer, seed: int | None = 0,
                      on_event: Callable[[Event], None] | None = None, tolerate_errors: bool = False,
                      costs: ModelledCosts | None = None) -> Manager:
        """The loops of ``approach``, continuing their stored state and schedule.

        ``costs`` is told of every loop run (a meter that models costs).

        Takes the manager lock, then records or discards what a killed manager left
        unfinished (``mape.recovery``) before the loops read the state.
        """
        from harmone.mape.recovery import recover

        self._take_lock(lock.MANAGER, "managing")
        self._on_event = on_event
        check_stored_state(self.store, approach)  # damaged state refuses before recovery writes
        for event in recover(self.workspace, self.store, now=self.clock.now()):
            if on_event is not None:
                on_event(event)
        self.manager = build_manager(self.workspace, approach, store=self.store, meter=self.meter,
                                     retrainer=retrainer, now=self.clock.now(), seed=seed, config=self.config,
                                     on_event=on_event, tolerate_errors=tolerate_errors,
                                     repository=self.repository, costs=costs)
        return self.manager

    def _take_lock(self, name: str, purpose: str) -> None:
        """Hold ``name`` until the session closes; a running holder makes this a one-line error."""
        context = lock.hold(self.workspace.knowledge_dir, [name], purpose)
        context.__enter__()
        self._closers.append(lambda: context.__exit__(None, None, None))

    # -- driving ---------------------------------------------------------------------------

    def drive(self, steps: int | None = None, *, interval_s: float | None = 0.0,
              on_prediction: Callable[[Prediction], None] | None = None,
              progress: Progress | None = None) -> Drive:
        """Move the stream (or, without an engine, the managing system) until done or stopped.

        Every step is followed by an idle of ``interval_s`` on the clock (simulated time
        advances by the cadence; live time sleeps), which is never charged to inference;
        None idles for ``stream.interval_s`` as the settings in effect say.
        """
        engine, manager = self.engine, self.manager
        if engine is None:
            if manager is None:
                raise HarmonEError("nothing to drive: start an engine or a manager first")
            self._serve(manager)
            return Drive(0, 0, False)
        if steps is not None and steps <= 0:
            raise HarmonEError(f"steps = {steps} must be positive")
        total = engine.remaining if steps is None else min(steps, engine.remaining)
        done = 0
        clock, stop, step, follower = self.clock, self.stop, engine.step, self._follower
        idle_s = self.config.stream.interval_s if interval_s is None else interval_s
        while done < total and not stop.is_set():
            prediction = step()
            if prediction is None:
                break
            done += 1
            if follower is not None and time.monotonic() >= follower.next_check_s and self.follow_config():
                idle_s = self.config.stream.interval_s if interval_s is None else interval_s
            if manager is not None:
                now = clock.now()
                if manager.due(now):
                    engine.flush()  # the loops read the log: hand them every row so far
                    manager.tick(now)
            if on_prediction is not None:
                on_prediction(prediction)
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, total)
            if idle_s > 0:
                engine.idle(idle_s)
        engine.flush()
        if progress is not None:
            progress(done, total)
        return Drive(done, total, done >= total or engine.remaining <= 0)

    def finish_jobs(self) -> None:
        """Wait for running retraining jobs (the end of a live run), unless stopped meanwhile."""
        if self.manager is not None:
            self.manager.finish(self.clock, should_stop=self.stop.is_set)

    def _serve(self, manager: Manager) -> None:
        """Tick whenever a loop is due until stopped, saving the clock after each tick.

        Sleeps in real seconds (scaled by the clock's time scale) and wakes at least every
        ``MAX_SLEEP_S`` to notice the stop flag, more often while a retraining job runs.
        """
        clock, stop = self.clock, self.stop
        scale = float(getattr(clock, "time_scale", 1.0))
        while not stop.is_set():
            self.follow_config()
            now = clock.now()
            if manager.due(now):
                manager.tick(now)
                save_clock(self.store, clock)
            wait_s = (manager.next_due_s - clock.now()) / scale
            if manager.pending:
                wait_s = min(wait_s, JOB_POLL_S)
            stop.wait(min(max(wait_s, 0.0), MAX_SLEEP_S))


    def follow_config(self) -> bool:
        """Take up a changed harmone.toml, if the session follows it; True when settings changed.

        Engine and loops get the new settings; what happened is recorded as ``config``
        events (``harmone.config_reload``) and handed to the manager's ``on_event``, or
        an error to the engine's ``warn``.
        """
        reload = self._follower.poll() if self._follower is not None else None
        if reload is None:
            return False
        if reload.changed:
            self.config = reload.config
            if self.engine is not None:
                self.engine.reload_config(self.config)
            if self.manager is not None:
                self.manager.reload_config(self.config, self.clock.now())
        engine, manager = self.engine is not None, self.manager is not None
        process = "run" if engine and manager else "infer" if engine else "manage"
        for event in reload_events(reload, time_s=self.clock.now(), process=process):
            event = replace(event, id=self.store.record_event(event))
            if self._on_event is not None:
                self._on_event(event)
            elif self._warn is not None and event.error is not None:
                self._warn(event.error)
        return bool(reload.changed)


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGINT and SIGTERM set ``stop`` instead of interrupting mid-write; returns the undo."""
    def handler(signum: int, frame: FrameType | None) -> None:
        # Not ``stop.set()`` here: the handler runs in the main thread, which may be inside
        # ``stop.wait()`` holding the event's lock, and ``set`` would wait for it forever.
        threading.Thread(target=stop.set, name="stop-on-signal", daemon=True).start()

    previous: dict[int, Any] = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def _run_all(steps: list[Callable[[], None]]) -> None:
    """Run every step even when one fails; the first failure is raised after the rest ran."""
    failure: BaseException | None = None
    for step in steps:
        try:
            step()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the other steps
            failure = failure or exc
    if failure is not None:
        raise failure
