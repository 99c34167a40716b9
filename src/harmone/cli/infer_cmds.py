"""`harmone infer`: live streaming inference.

Runs in a ``Session`` holding the workspace's inference lock: Ctrl-C or SIGTERM stops
between two predictions and every printed prediction is then logged; a kill loses the
printed predictions of the batch not yet stored (the output says so, and the next run
predicts them again). The summary is read back from the rows this run stored, so a stream
of any length runs in constant memory.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from harmone.cli import workspace_dir
from harmone.cli.args import interval_seconds, positive_int, time_scale
from harmone.clock import WallClock
from harmone.errors import HarmonEError
from harmone.inference import Prediction
from harmone.workspace import Workspace


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("infer", parents=[common], help="stream the test data through the active model")
    p.add_argument("--interval", type=interval_seconds, default=None,
                   help="seconds between predictions (default: config stream.interval_s, 0.15)")
    p.add_argument("--time-scale", type=time_scale, default=1.0,
                   help="divide every interval by K (default 1)")
    p.add_argument("--steps", type=positive_int, default=None, help="stop after N predictions (default: end of stream)")
    p.add_argument("--from-start", action="store_true", help="restart at the beginning of the test stream")
    p.add_argument("--quiet", action="store_true", help="print only the summary (lines are printed as made and stored"
                   " [stream] flush_rows at a time; the summary counts stored predictions)")
    p.set_defaults(handler=cmd_infer)


def cmd_infer(args: argparse.Namespace) -> int:
    from harmone.report.numbers import fmt
    from harmone.report.words import words
    from harmone.runner import run_inference

    workspace = Workspace.open(workspace_dir(args))
    interval = args.interval  # None: the configured cadence, followed when harmone.toml changes
    if (interval is not None and interval < 0) or args.time_scale <= 0:
        raise HarmonEError("--interval must be >= 0 and --time-scale > 0")
    if args.steps is not None and args.steps <= 0:
        raise HarmonEError(f"--steps {args.steps} must be positive")

    said = words(workspace.config.task)
    shown = "9.2f" if said.values else "3.0f"  # a value, or a class index

    def show(p: Prediction) -> None:
        print(f"{p.position:>7} {p.model:<7} v{p.version:<3} true {p.true_value:{shown}}"
              f"  predicted {p.predicted_value:{shown}}  {p.latency_s * 1e6:7.1f} µs", flush=True)

    def warn(message: str) -> None:
        print(f"harmone: warning: {message}", file=sys.stderr, flush=True)

    if not args.quiet and sys.stdout.isatty():  # a pipe gets prediction lines only
        print(f"Each line is a prediction as made; predictions are stored {workspace.config.stream.flush_rows} at a"
              f" time with the stream position (a kill loses at most the unstored ones, and the next run predicts"
              f" them again); the summary counts stored predictions", flush=True)
    stop = threading.Event()
    summary = run_inference(workspace, steps=args.steps, interval_s=interval,
                            clock=WallClock(time_scale=args.time_scale), from_start=args.from_start,
                            on_prediction=None if args.quiet else show, warn=warn, stop=stop, handle_signals=True,
                            follow_config=True)
    if stop.is_set():
        print("Stopped; logged predictions are kept", file=sys.stderr)
    if summary.predictions:
        print(f"{summary.predictions} predictions stored; {said.metric} {fmt(summary.r2, '.4f')},"
              f" {said.error} {fmt(summary.mae, '.2f' if said.values else '.4f')}"
              f" (meter: {summary.meter_kind}, {summary.meter_source})")
    return 0
