"""`harmone manage | run`: the managing system beside `harmone infer`, or both in one process.

Both open a ``Session`` with ``handle_signals=True``: Ctrl-C (SIGINT) and SIGTERM set its
stop flag, and the drive loop ends between two steps.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable
from typing import Any

from harmone import lock, tasks
from harmone.approaches import get_approach
from harmone.cli import workspace_dir
from harmone.cli.args import positive_int, seed_int, time_scale
from harmone.cli.manage_cmds import EVENT_HEADER, _worth_printing, format_event
from harmone.cli.progress import ProgressBar
from harmone.errors import HarmonEError
from harmone.knowledge import Event, KnowledgeStore
from harmone.report.numbers import fmt
from harmone.report.results import RunResult
from harmone.report.words import words
from harmone.workspace import Workspace


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("manage", parents=[common],
                              help="run the managing system beside `harmone infer` (Ctrl-C stops)")
    p.add_argument("--time-scale", type=time_scale, default=1.0,
                   help="divide every interval by K (default 1)")
    p.add_argument("--seed", type=seed_int, default=None,
                   help="seed of the exploration draws (default: random)")
    p.add_argument("--verbose", action="store_true", help="print every loop run, not only decisions")
    p.set_defaults(handler=cmd_manage)

    p = subparsers.add_parser("run", parents=[common], help="inference and management in one process")
    p.add_argument("--approach", metavar="NAME", help="approach for this run (default: the workspace's)")
    p.add_argument("--simulate", action="store_true",
                   help="simulated time: each prediction advances the clock by the stream cadence")
    p.add_argument("--steps", type=positive_int, default=None, help="stop after N predictions (default: whole stream)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of exploration and retraining (default 0)")
    p.add_argument("--time-scale", type=time_scale, default=1.0,
                   help="live runs: divide every interval by K")
    p.add_argument("--meter", choices=("measured", "calibrated"), default="measured",
                   help="simulated runs: measured (the workspace's meter, default) or calibrated (charge each"
                        " prediction its kind's calibrated energy, loop runs and retrainings the packaged energy"
                        " model's: the same seed decides the same anywhere)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar or event lines")
    p.set_defaults(handler=cmd_run)


def cmd_manage(args: argparse.Namespace) -> int:
    workspace = Workspace.open(workspace_dir(args))
    with lock.hold(workspace.knowledge_dir, [lock.MANAGER], "managing"):  # before the first write
        return _manage(workspace, args)


def _manage(workspace: Workspace, args: argparse.Namespace) -> int:
    from harmone.config_reload import CHECK_EVERY_S
    from harmone.mape.execute import SubprocessRetrainer
    from harmone.mape.manager import check_stored_state, continued_clock
    from harmone.mape.state import choose_model, read_approach, use_model
    from harmone.session import Session

    with KnowledgeStore(workspace.db_path) as store:
        approach = read_approach(store)
        model = choose_model(workspace, approach)
        check_stored_state(store, approach)
        clock = continued_clock(store, time_scale=args.time_scale)
    if not approach.loops:
        use_model(workspace, model)
        print(f"Approach {approach.name} runs no loops: {model} serves unmanaged; nothing to do")
        return 0

    said = words(workspace.config.task)

    def show(event: Event) -> None:
        if args.verbose or _worth_printing(event):
            print(format_event(event, said), flush=True)
        if event.decision == "error" or "retrain-failed" in event.decision:
            print(f"harmone: warning: {event.loop} loop: {event.observed.get('error')}", file=sys.stderr, flush=True)

    with Session(workspace, clock=clock, handle_signals=True, config_check_s=CHECK_EVERY_S) as session:
        use_model(workspace, model)  # the meter is ready: now write
        manager = session.start_manager(approach, retrainer=SubprocessRetrainer(workspace), seed=args.seed,
                                        on_event=show, tolerate_errors=True)
        meter = session.meter
        print(f"Managing {workspace.root.resolve()} with approach {approach.name}"
              f" (loops: {', '.join(loop.name for loop in manager.loops)}; time scale {args.time_scale:g});"
              f" meter {meter.kind} ({meter.source}). Ctrl-C stops.", flush=True)
        now = clock.now()
        for loop in manager.loops:
            print(f"  {loop.name:<8} next run in {max(0.0, loop.next_due_s - now):.1f} s", flush=True)
        print(EVENT_HEADER, flush=True)
        session.drive()
    print("Stopped; loop state and schedule are saved (a restart continues them)")
    return 0


def _progress_bar(enabled: bool) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    if not enabled:
        return None, lambda: None
    bar = ProgressBar("streaming", "pred")
    return bar, bar.close


def cmd_run(args: argparse.Namespace) -> int:
    from harmone.cadence import workspace_note
    from harmone.mape.state import workspace_approach
    from harmone.runner import run_approach

    workspace = Workspace.open(workspace_dir(args))
    approach = get_approach(args.approach) if args.approach is not None else workspace_approach(workspace)
    stop = threading.Event()
    progress, close_bar = _progress_bar(not args.quiet and not args.json and sys.stderr.isatty())
    live_events = not args.simulate and not args.quiet and not args.json
    said = words(workspace.config.task)

    def show(event: Event) -> None:
        if live_events and _worth_printing(event):
            print(format_event(event, said), flush=True)

    try:
        result = run_approach(workspace, approach, steps=args.steps, seed=args.seed, simulate=args.simulate,
                              time_scale=args.time_scale, progress=progress, on_event=show, stop=stop,
                              handle_signals=True, meter=_meter(workspace, args))
    finally:
        close_bar()
    note = workspace_note(workspace, approach.loops, args.steps)
    if note:  # after the run: a refused run prints its error alone
        print(f"harmone: note: {note}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    _print_result(result, args.time_scale, stopped=stop.is_set())
    return 0


def _meter(workspace: Workspace, args: argparse.Namespace) -> Any:
    """None for the workspace's own meter; a model meter charging the workspace's calibration."""
    if args.meter == "measured":
        return None
    if not args.simulate:
        raise HarmonEError("--meter calibrated charges modelled energy: it needs --simulate")
    from harmone.energy.calibrate import load_calibration
    from harmone.energy.model import ModelMeter, calibrated_energy_model

    calibration = load_calibration(workspace.calibration_path)
    if calibration is None:
        raise HarmonEError(f"{workspace.calibration_path}: no energy calibration for --meter calibrated"
                           f" (run `harmone energy calibrate`)")
    return ModelMeter(calibrated_energy_model(calibration))


def _print_result(result: RunResult, time_scale: float, *, stopped: bool) -> None:
    mode = "simulated" if result.simulated else f"live, time scale {time_scale:g}"
    print(f"Approach {result.approach} ({mode}, seed {result.seed}): {result.predictions} predictions"
          f" covering {result.duration_s:.0f} s of stream time in {result.wall_time_s:.1f} s"
          + (" (stopped early)" if stopped else ""))
    if result.predictions:
        said = words(tasks.get(result.task))
        skill = "" if result.skill is None else f", {said.skill_over} {result.skill:+.3f}"
        print(f"  scores:      {said.metric} {fmt(result.r2, '.4f')}{skill},"
              f" {said.error} {fmt(result.mae, '.2f' if said.values else '.4f')}")
    per_prediction = (result.inference_energy_uj / result.predictions) if result.predictions else 0.0
    print(f"  energy:      inference {result.inference_energy_uj / 1000:.1f} mJ ({per_prediction:.1f} µJ per"
          f" prediction), adaptation {result.adaptation_energy_uj / 1000:.1f} mJ"
          f" (meter: {result.meter_kind}, {result.meter_source})")
    if result.latency_mean_s is not None and result.latency_p95_s is not None:
        print(f"  latency:     mean {result.latency_mean_s * 1e6:.1f} µs, p95 {result.latency_p95_s * 1e6:.1f} µs")
    print(f"  adaptations: {result.switches} switches, {result.reuses} reuses, {result.retrains} retrains"
          f" ({result.drift_detections} drift detections"
          + (f", {result.retrain_failures} failed retrains" if result.retrain_failures else "") + ")")
    if result.events:
        print(f"  events {result.first_event_id}..{result.last_event_id}: `harmone events` lists them")
