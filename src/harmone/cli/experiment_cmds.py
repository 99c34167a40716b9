"""`harmone demo`: the main job on built-in data, from nothing to results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harmone import lifecycle
from harmone.clock import SimulatedClock
from harmone.cli.infer_cmds import meter_for
from harmone.cli.train_cmds import _progress_bar
from harmone.data.series import split, write_split
from harmone.inference import InferenceEngine, summarise
from harmone.knowledge import KnowledgeStore
from harmone.workspace import Workspace

DEMO_DIR = "harmone-demo"


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("demo", help=f"init, generate, train and stream in ./{DEMO_DIR}")
    p.add_argument("--dir", type=Path, default=Path(DEMO_DIR), help=f"demo workspace (default ./{DEMO_DIR})")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from harmone.data.synth import generate

    workspace, _ = Workspace.init(args.dir)
    print(f"Workspace: {workspace.root.resolve()}")
    stream = generate(seed=args.seed, train_ratio=workspace.config.stream.train_ratio)
    train, test = split(stream.values, workspace.config.stream.train_ratio, window=workspace.config.stream.window)
    write_split(workspace.data_dir, train, test)
    print(f"Built-in stream: {len(train)} training values, {len(test)} test values")
    rows = lifecycle.train_initial(workspace, lifecycle.parse_kinds(None), seed=args.seed,
                                   progress_for=_progress_bar)
    for row in rows:
        print(f"  trained {row['model']:<7} version {row['version']}: held-out R² {row['holdout_r2']:.4f}"
              f" in {row['train_time_s']:.1f}s")
    meter = meter_for(workspace)
    print(f"Energy meter: {meter.source} ({meter.kind})")
    for kind in lifecycle.parse_kinds(None):
        workspace.write_active_model(kind)
        with KnowledgeStore(workspace.db_path) as store:
            store.set_state({"meter": meter.describe()})
            engine = InferenceEngine(workspace, store=store, meter=meter, clock=SimulatedClock())
            engine.restart()
            start = store.last_row_id()
            engine.run(3000)
            logged = store.predictions_after(start)
        result = summarise(true_values=logged.true_value, predicted_values=logged.predicted_value)
        print(f"  streamed {result['n']} predictions with {kind:<7}: R² {result['r2']:.4f},"
              f" {logged.latency_s.mean() * 1e6:6.1f} µs and {logged.energy_uj.mean():8.2f} µJ per prediction")
    print("Next: `harmone status`, `harmone export predictions -o log.csv` in that directory")
    return 0
