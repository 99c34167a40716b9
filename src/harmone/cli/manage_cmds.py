"""`harmone approach | reset | manage | run | events`: the managing system from the command line."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from harmone.approaches import APPROACHES, get_approach
from harmone.cli import workspace_dir
from harmone.cli.progress import ProgressBar
from harmone.errors import HarmonEError
from harmone.knowledge import Action, Decision, Event, KnowledgeStore, LoopName, Outcome
from harmone.knowledge.events import LOOP_NAMES
from harmone.workspace import Workspace


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("approach", parents=[common], help="show or set the approach (which loops run)")
    p.add_argument("name", nargs="?", metavar="NAME", help=f"one of: {', '.join(APPROACHES)}")
    p.set_defaults(handler=cmd_approach)

    p = subparsers.add_parser("reset", parents=[common],
                              help="remove models, versions, predictions, events and loop state")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=cmd_reset)

    p = subparsers.add_parser("manage", parents=[common],
                              help="run the managing system beside `harmone infer` (Ctrl-C stops)")
    p.add_argument("--time-scale", type=float, default=1.0, help="divide every interval by K (default 1)")
    p.add_argument("--seed", type=int, default=None, help="seed of the exploration draws (default: random)")
    p.add_argument("--verbose", action="store_true", help="print every loop run, not only decisions")
    p.set_defaults(handler=cmd_manage)

    p = subparsers.add_parser("run", parents=[common], help="inference and management in one process")
    p.add_argument("--approach", metavar="NAME", help="approach for this run (default: the workspace's)")
    p.add_argument("--simulate", action="store_true",
                   help="simulated time: each prediction advances the clock by the stream cadence")
    p.add_argument("--steps", type=int, default=None, help="stop after N predictions (default: whole stream)")
    p.add_argument("--seed", type=int, default=0, help="seed of exploration and retraining (default 0)")
    p.add_argument("--time-scale", type=float, default=1.0, help="live runs: divide every interval by K")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar or event lines")
    p.set_defaults(handler=cmd_run)

    p = subparsers.add_parser("events", parents=[common], help="every decision of the loops")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--loop", choices=LOOP_NAMES, help="only this loop's events")
    p.add_argument("--acted", action="store_true", help="only events that changed something")
    p.add_argument("--last", type=int, default=None, metavar="N", help="only the last N events")
    p.set_defaults(handler=cmd_events)


# -- approach, reset -----------------------------------------------------------------------

def cmd_approach(args: argparse.Namespace) -> int:
    from harmone.mape.state import DEFAULT_APPROACH, read_approach, set_approach
    from harmone.repository import ModelRepository

    workspace = Workspace.open(workspace_dir(args))
    if args.name is None:
        current = get_approach(DEFAULT_APPROACH)
        if workspace.db_path.is_file():
            with KnowledgeStore.open_readonly(workspace.db_path) as store:
                current = read_approach(store)
        for approach in APPROACHES.values():
            mark = "*" if approach.name == current.name else " "
            loops = ", ".join(sorted(approach.loops)) or "no loops"
            print(f"{mark} {approach.name:<22} {loops:<16} {approach.description}")
        return 0
    approach = set_approach(workspace, args.name)
    print(f"Approach: {approach.name} ({approach.description})")
    if approach.fixed_model is not None:
        print(f"Active model: {approach.fixed_model} (written to {workspace.model_switch_path.name})")
        if approach.fixed_model not in ModelRepository(workspace).trained_kinds():
            print(f"harmone: warning: {approach.fixed_model} is not trained yet "
                  f"(run `harmone train --models {approach.fixed_model}`)", file=sys.stderr)
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from harmone.mape.state import reset

    workspace = Workspace.open(workspace_dir(args))
    where = workspace.root.resolve()
    if not args.yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise HarmonEError(f"refusing to reset {where} without confirmation: stdin is not a terminal "
                               f"(pass --yes)")
        answer = input(f"Remove every model version, prediction, event and loop state in {where}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing was changed")
            return 1
    report = reset(workspace)
    print(f"Reset {where}: removed {report.versions} model versions, {report.predictions} predictions"
          f" and {report.events} events; loop state back to the configured defaults")
    if report.active_model is not None:
        print(f"Active model: {report.active_model} (the approach's model; run `harmone train` before streaming)")
    else:
        print("Next: `harmone train`")
    return 0


# -- manage, run ---------------------------------------------------------------------------

@contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM ask for a clean stop instead of interrupting mid-write."""
    def handler(signum: int, frame: object) -> None:
        stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _number(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def _observed_text(event: Event) -> str:
    seen = event.observed
    if event.loop is LoopName.SWITCH:
        parts = [f"R² {_number(seen.get('r2'), '.3f')}", f"e {_number(seen.get('normalised_energy'), '.3f')}",
                 f"EMA {_number(seen.get('ema'), '.3f')}", f"T {_number(seen.get('budget'), '.2f')}"]
        if seen.get("target"):
            parts.append(f"-> {seen['target']}")
        return "  ".join(parts)
    parts = []
    if "window_kl" in seen:
        parts.append(f"KL {_number(seen.get('window_kl'), '.3f')}")
    if seen.get("version_kl") is not None:
        parts.append(f"version KL {_number(seen.get('version_kl'), '.3f')}")
    if "values" in seen:
        parts.append(f"{seen['values']} values")
    if event.retraining is not None:
        parts.append(f"new version held-out R² {_number(event.retraining.holdout_r2, '.3f')}")
    if event.error is not None:
        parts.append(event.error)
    return "  ".join(parts)


EVENT_HEADER = (f"{'time_s':>10}  {'loop':<7} {'action':<7} {'model':<7} {'ver':>4} {'energy_mJ':>10}"
                f"  {'decision':<24} observed")


def _decision_text(event: Event) -> str:
    """The decision, and how a retraining it started ended unless it simply took over."""
    if event.outcome is None or event.outcome is Outcome.PROMOTED:
        return event.decision.value
    return f"{event.decision.value} ({event.outcome.value})"


def format_event(event: Event) -> str:
    version = "-" if event.version is None else str(event.version)
    return (f"{event.time_s:>10.2f}  {event.loop.value:<7} {event.action.value:<7} {event.model or '-':<7}"
            f" {version:>4} {event.energy_uj / 1000:>10.3f}  {_decision_text(event):<24} {_observed_text(event)}")


def _worth_printing(event: Event) -> bool:
    """Decisions, not routine checks: every switch-loop run, retraining, drift found, and errors."""
    return (event.loop is not LoopName.DRIFT or event.action is not Action.NONE or event.drift_detected
            or event.decision is Decision.ERROR or event.outcome is not None)


def cmd_manage(args: argparse.Namespace) -> int:
    from harmone.energy.detect import detect
    from harmone.mape.execute import SubprocessRetrainer
    from harmone.mape.manager import build_manager, continued_clock, serve
    from harmone.mape.state import prepare_models, read_approach

    workspace = Workspace.open(workspace_dir(args))
    if args.time_scale <= 0:
        raise HarmonEError(f"--time-scale {args.time_scale} must be > 0")
    with KnowledgeStore(workspace.db_path) as store:
        approach = read_approach(store)
        model = prepare_models(workspace, approach)
        if not approach.loops:
            print(f"Approach {approach.name} runs no loops: {model} serves unmanaged; nothing to do")
            return 0
        stop = threading.Event()

        def show(event: Event) -> None:
            if args.verbose or _worth_printing(event):
                print(format_event(event), flush=True)
            if event.decision is Decision.ERROR or event.failed:
                print(f"harmone: warning: {event.loop} loop: {event.error}", file=sys.stderr,
                      flush=True)

        with detect(workspace.config.energy, scope="thread") as meter, _stop_on_signals(stop.set):
            clock = continued_clock(store, time_scale=args.time_scale)
            manager = build_manager(workspace, approach, store=store, meter=meter,
                                    retrainer=SubprocessRetrainer(workspace), now=clock.now(), seed=args.seed,
                                    on_event=show, tolerate_errors=True)
            print(f"Managing {workspace.root.resolve()} with approach {approach.name}"
                  f" (loops: {', '.join(loop.name for loop in manager.loops)}; time scale {args.time_scale:g});"
                  f" meter {meter.kind} ({meter.source}). Ctrl-C stops.", flush=True)
            now = clock.now()
            for loop in manager.loops:
                print(f"  {loop.name:<8} next run in {max(0.0, loop.next_due_s - now):.1f} s", flush=True)
            print(EVENT_HEADER, flush=True)
            serve(manager, clock, store, stop=stop)
    print("Stopped; loop state and schedule are saved (a restart continues them)")
    return 0


def _progress_bar(enabled: bool) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    if not enabled:
        return None, lambda: None
    bar = ProgressBar("streaming", "pred")
    return bar, bar.close


def cmd_run(args: argparse.Namespace) -> int:
    from harmone.mape.state import read_approach
    from harmone.runner import run_approach

    workspace = Workspace.open(workspace_dir(args))
    if args.time_scale <= 0:
        raise HarmonEError(f"--time-scale {args.time_scale} must be > 0")
    if args.steps is not None and args.steps <= 0:
        raise HarmonEError(f"--steps {args.steps} must be positive")
    if args.approach is not None:
        approach = get_approach(args.approach)
    else:
        with KnowledgeStore(workspace.db_path) as store:
            approach = read_approach(store)
    stop = threading.Event()
    progress, close_bar = _progress_bar(not args.quiet and not args.json and sys.stderr.isatty())
    live_events = not args.simulate and not args.quiet and not args.json

    def show(event: Event) -> None:
        if live_events and _worth_printing(event):
            print(format_event(event), flush=True)

    try:
        with _stop_on_signals(stop.set):
            summary = run_approach(workspace, approach, steps=args.steps, seed=args.seed, simulate=args.simulate,
                                   time_scale=args.time_scale, progress=progress, on_event=show,
                                   should_stop=stop.is_set)
    finally:
        close_bar()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
        return 0
    mode = "simulated" if summary.simulated else f"live, time scale {args.time_scale:g}"
    print(f"Approach {summary.approach} ({mode}, seed {summary.seed}): {summary.predictions} predictions"
          f" covering {summary.duration_s:.0f} s of stream time in {summary.wall_time_s:.1f} s"
          + (" (stopped early)" if stop.is_set() else ""))
    if summary.r2 is not None:
        print(f"  accuracy:    R² {summary.r2:.4f}, MAE {summary.mae:.2f}")
    per_prediction = (summary.inference_energy_uj / summary.predictions) if summary.predictions else 0.0
    print(f"  energy:      inference {summary.inference_energy_uj / 1000:.1f} mJ ({per_prediction:.1f} µJ per"
          f" prediction), adaptation {summary.adaptation_energy_uj / 1000:.1f} mJ"
          f" (meter: {summary.meter_kind}, {summary.meter_source})")
    if summary.latency_mean_s is not None and summary.latency_p95_s is not None:
        print(f"  latency:     mean {summary.latency_mean_s * 1e6:.1f} µs, p95 {summary.latency_p95_s * 1e6:.1f} µs")
    print(f"  adaptations: {summary.switches} switches, {summary.reuses} reuses, {summary.retrains} retrains"
          f" ({summary.drift_detections} drift detections"
          + (f", {summary.retrain_failures} failed retrains" if summary.retrain_failures else "") + ")")
    if summary.events:
        print(f"  events {summary.first_event_id}..{summary.last_event_id}: `harmone events` lists them")
    return 0


# -- events --------------------------------------------------------------------------------

def cmd_events(args: argparse.Namespace) -> int:
    workspace = Workspace.open(workspace_dir(args))
    if args.last is not None and args.last <= 0:
        raise HarmonEError(f"--last {args.last} must be positive")
    if not workspace.db_path.is_file():
        events: list[Event] = []
    else:
        with KnowledgeStore.open_readonly(workspace.db_path) as store:
            # Without --acted, only the newest N rows are read.
            events = store.events(loop=args.loop, last=None if args.acted else args.last)
    if args.acted:
        events = [e for e in events if e.action is not Action.NONE]
    if args.last is not None:
        events = events[-args.last:]
    if args.json:
        print(json.dumps([event.to_dict() for event in events], indent=2))
        return 0
    if not events:
        print("No events (the loops record one per run: `harmone manage` or `harmone run`)")
        return 0
    print(EVENT_HEADER)
    for event in events:
        print(format_event(event))
    return 0
