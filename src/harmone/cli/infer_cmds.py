"""`harmone infer`: live streaming inference."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from harmone.cli import workspace_dir
from harmone.clock import WallClock
from harmone.errors import HarmonEError
from harmone.inference import InferenceEngine, Prediction, summarise
from harmone.knowledge import KnowledgeStore, keys
from harmone.workspace import Workspace


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("infer", parents=[common], help="stream the test data through the active model")
    p.add_argument("--interval", type=float, default=None,
                   help="seconds between predictions (default: config stream.interval_s, 0.15)")
    p.add_argument("--time-scale", type=float, default=1.0, help="divide every interval by K (default 1)")
    p.add_argument("--steps", type=int, default=None, help="stop after N predictions (default: end of stream)")
    p.add_argument("--from-start", action="store_true", help="restart at the beginning of the test stream")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(handler=cmd_infer)


def meter_for(workspace: Workspace, *, scope: str = "thread") -> Any:
    from harmone.energy.detect import detect

    return detect(workspace.config.energy, scope=scope)


def cmd_infer(args: argparse.Namespace) -> int:
    workspace = Workspace.open(workspace_dir(args))
    interval = workspace.config.stream.interval_s if args.interval is None else args.interval
    if interval < 0 or args.time_scale <= 0:
        raise HarmonEError("--interval must be >= 0 and --time-scale > 0")
    if args.steps is not None and args.steps <= 0:
        raise HarmonEError(f"--steps {args.steps} must be positive")
    meter = meter_for(workspace)
    clock = WallClock(time_scale=args.time_scale)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGTERM, stop)
    predictions: list[Prediction] = []

    def show(p: Prediction) -> None:
        predictions.append(p)
        if not args.quiet:
            print(f"{p.position:>7} {p.model:<7} v{p.version:<3} true {p.true_value:9.2f}"
                  f"  predicted {p.predicted_value:9.2f}  {p.latency_s * 1e6:7.1f} µs", flush=True)

    with KnowledgeStore(workspace.db_path) as store:
        store.set_state({keys.METER: meter.describe()})
        engine = InferenceEngine(workspace, store=store, meter=meter, clock=clock,
                                 warn=lambda m: print(f"harmone: warning: {m}", file=sys.stderr, flush=True))
        if args.from_start:
            engine.restart()
        if engine.remaining <= 0:
            raise HarmonEError(f"end of the test stream reached ({workspace.test_path}); use --from-start")
        try:
            engine.run(args.steps, interval_s=interval, on_prediction=show, should_stop=lambda: stopping)
        except KeyboardInterrupt:
            print("Stopped; logged predictions are kept", file=sys.stderr)
        finally:
            signal.signal(signal.SIGTERM, previous)
    result = summarise(predictions)
    if result["n"]:
        print(f"{result['n']} predictions; R² {result['r2']:.4f}, MAE {result['mae']:.2f}"
              f" (meter: {meter.kind}, {meter.source})")
    return 0
