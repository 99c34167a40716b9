"""The managing system: the loops an approach names, run when due, live or simulated.

``Manager.tick(now)`` runs every loop that is due and collects finished retraining jobs.
A simulated run calls it after every prediction; the live ``harmone manage`` command
calls it from the session's drive loop (``harmone.session``), which sleeps until the next
due time and stops on SIGINT or SIGTERM. Loop state and due times live in the knowledge base, and the live clock is
continued across restarts (``continued_clock``), so a restarted manager picks up the
schedule where the previous one left it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from harmone import policies
from harmone.approaches import Approach
from harmone.clock import Clock, WallClock
from harmone.config import Config
from harmone.energy.base import EnergyMeter, ModelledCosts
from harmone.knowledge import Event, KnowledgeStore, LoopName
from harmone.knowledge.events import LOOP_NAMES
from harmone.mape.drift_loop import DriftLoop
from harmone.mape.execute import Retrainer
from harmone.mape.loop_base import Loop
from harmone.mape.retrain_loop import RetrainLoop
from harmone.mape.state import CLOCK_KEY
from harmone.mape.switch_loop import SwitchLoop
from harmone.repository import ModelRepository
from harmone.workspace import Workspace

#: Order in which due loops run within one tick (``LoopName`` says why).
LOOP_ORDER = LOOP_NAMES
#: Real seconds between checks on a running retraining job while nothing else is due.
JOB_POLL_S = 0.25


class Manager:
    """Runs due loops; knows the earliest next due time so callers can check cheaply."""

    def __init__(self, approach: Approach, loops: Sequence[Loop], *,
                 on_event: Callable[[Event], None] | None = None, tolerate_errors: bool = False) -> None:
        names = [loop.name for loop in loops]
        if sorted(names) != sorted(approach.loops) or len(set(names)) != len(names):
            raise ValueError(f"approach {approach.name!r} runs {sorted(approach.loops)}, got loops {names}")
        self.approach = approach
        self.loops = sorted(loops, key=lambda loop: LOOP_ORDER.index(loop.name))
        self.on_event = on_event
        #: Live managers keep running when one loop run raises, whatever it raises (the
        #: failure becomes an ``error`` event and serving goes on); simulated runs let the
        #: error surface.
        self.tolerate_errors = tolerate_errors
        self._refresh()

    @property
    def pending(self) -> bool:
        """True while some loop waits for a retraining job."""
        return self._pending

    @property
    def next_due_s(self) -> float:
        """Earliest due time of a loop that is not waiting for a job (inf when none)."""
        return self._next_due_s

    def due(self, now: float) -> bool:
        """Whether ``tick(now)`` would do anything; O(1), so it can follow every prediction."""
        return self._pending or now >= self._next_due_s

    def tick(self, now: float) -> list[Event]:
        """Collect finished jobs, then run every due loop once; returns the events recorded."""
        events: list[Event] = []
        for loop in self.loops:
            try:
                event = loop.poll(now) if loop.pending else loop.run(now) if loop.due(now) else None
            except Exception as exc:  # noqa: BLE001 - the live boundary: anything becomes an event
                if not self.tolerate_errors:
                    raise
                event = loop.fail(now, exc)
            self._emit(event, events)
        self._refresh()
        return events

    def reload_config(self, config: Config, now: float) -> None:
        """Every loop takes up changed settings (``harmone.config_reload``) from its next run."""
        for loop in self.loops:
            loop.reload_config(config, now)
        self._refresh()

    def _emit(self, event: Event | None, events: list[Event]) -> None:
        if event is not None:
            events.append(event)
            if self.on_event is not None:
                self.on_event(event)

    def close(self) -> None:
        """Cancel running retraining jobs (their loops run again after a restart)."""
        for loop in self.loops:
            loop.cancel()
        self._refresh()

    def finish(self, clock: Clock, *, poll_s: float = JOB_POLL_S,
               should_stop: Callable[[], bool] | None = None) -> list[Event]:
        """Wait for running retraining jobs and record their events (end of a live run).

        ``should_stop`` returning True ends the wait; ``close`` then cancels what still runs.
        """
        events: list[Event] = []
        while self._pending and not (should_stop is not None and should_stop()):
            clock.sleep(poll_s * getattr(clock, "time_scale", 1.0))
            now = clock.now()
            for loop in self.loops:
                if loop.pending:
                    self._emit(loop.poll(now), events)
            self._refresh()
        return events

    def _refresh(self) -> None:
        self._pending = any(loop.pending for loop in self.loops)
        self._next_due_s = min((loop.next_due_s for loop in self.loops if not loop.pending), default=float("inf"))


def check_stored_state(store: KnowledgeStore, approach: Approach) -> None:
    """Read every stored state the approach's loops continue: a damaged one fails here, before
    any loop writes its own (a loop that never ran saves its start when it is built)."""
    for name in sorted(approach.loops):
        store.loop_state(name)
    store.get_state(CLOCK_KEY)


def build_manager(workspace: Workspace, approach: Approach, *, store: KnowledgeStore, meter: EnergyMeter,
                  retrainer: Retrainer, now: float, seed: int | None = 0, config: Config | None = None,
                  on_event: Callable[[Event], None] | None = None, tolerate_errors: bool = False,
                  repository: ModelRepository | None = None, costs: ModelledCosts | None = None) -> Manager:
    """The loops of ``approach`` over one workspace, continuing any state stored for them.

    ``repository`` is shared with the inference engine when the caller has one (a Session).
    ``costs`` is told of every loop run (a meter that models costs: ``energy.base.ModelledCosts``).

    ``seed`` seeds the switch loop's exploration and the retraining seeds; None draws the
    exploration seed from the operating system (live runs that need no replay).
    """
    config = config or workspace.config
    repository = repository or ModelRepository(workspace)
    check_stored_state(store, approach)
    common = {"workspace": workspace, "store": store, "meter": meter, "config": config, "now": now,
              "repository": repository, "costs": costs}
    base_seed = 0 if seed is None else seed
    loops: list[Loop] = []
    drift = DriftLoop(**common, retrainer=retrainer, seed=base_seed) if approach.runs(LoopName.DRIFT) else None
    if approach.runs(LoopName.SWITCH):
        score = (lambda: drift.last_score) if drift is not None else None
        loops.append(SwitchLoop(**common, rng=random.Random(seed), drift_score=score,
                                policy=policies.get(approach.policy)))
    if drift is not None:
        loops.append(drift)
    if approach.runs(LoopName.RETRAIN):
        loops.append(RetrainLoop(**common, retrainer=retrainer, model=approach.fixed_model, seed=base_seed))
    return Manager(approach, loops, on_event=on_event, tolerate_errors=tolerate_errors)


class ContinuedClock:
    """A wall clock that starts where a stored one stopped, so stored due times stay valid."""

    def __init__(self, base: WallClock, offset_s: float) -> None:
        self.base = base
        self.offset_s = offset_s

    @property
    def time_scale(self) -> float:
        return self.base.time_scale

    def now(self) -> float:
        return self.offset_s + self.base.now()

    def sleep(self, seconds: float) -> None:
        self.base.sleep(seconds)


def continued_clock(store: KnowledgeStore, *, time_scale: float = 1.0) -> ContinuedClock:
    """The live manager's clock: the stored reading plus the (scaled) time since it was taken.

    Time that passed while no manager ran counts too: a loop that fell due meanwhile runs
    at the first tick (once; it does not catch up missed runs).
    """
    base = WallClock(time_scale=time_scale)
    stored = store.get_state(CLOCK_KEY)
    offset_s = 0.0
    if isinstance(stored, dict):
        clock_s, unix_s = stored.get("clock_s"), stored.get("unix_s")
        if isinstance(clock_s, (int, float)) and isinstance(unix_s, (int, float)):
            offset_s = float(clock_s) + max(0.0, time.time() - float(unix_s)) * time_scale
    return ContinuedClock(base, offset_s)


def save_clock(store: KnowledgeStore, clock: Clock) -> None:
    """Remember where the live clock stands (with the Unix time, to continue it later)."""
    store.set_state({CLOCK_KEY: {"clock_s": clock.now(), "unix_s": time.time()}})
