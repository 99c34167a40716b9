"""`harmone experiment` and `harmone demo`: compare the approaches, from nothing to results."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harmone import cadence, experiment, lifecycle, lock
from harmone.cli import workspace_dir
from harmone.cli.args import bounded_int, positive_int, seed_int
from harmone.cli.progress import ProgressBar, training_bar
from harmone.cli.train_cmds import print_calibration, print_training
from harmone.errors import HarmonEError
from harmone.workspace import Workspace

DEMO_DIR = "harmone-demo"
MATRIX_DIR = "harmone-matrix"
#: Most local worker processes a matrix starts.
MAX_WORKERS = 1024


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("experiment", parents=[common],
                              help="run approaches side by side in simulated time and report; with --seeds or "
                                   "--streams, a matrix of approaches x streams x seeds")
    _experiment_options(p)
    p.add_argument("--out", type=Path, default=None,
                   help=f"output directory (default: <workspace>/experiment; a matrix outside a workspace: ./{MATRIX_DIR})")
    m = p.add_argument_group("matrix (approaches x streams x seeds, one task per stream and seed)")
    m.add_argument("--seeds", default=None, metavar="LIST", help="seeds, e.g. 0-9 or 0,3,7 (default: --seed)")
    m.add_argument("--streams", default=None, metavar="LIST",
                   help="streams: default, alt, pems, public series (co2, elnino, sunspots, cpi, unemp, nile; "
                        "need statsmodels) or CSV paths (default: default)")
    m.add_argument("--workers", type=bounded_int(1, MAX_WORKERS), default=None,
                   help="local worker processes (default: all cores)")
    m.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="run cells on a Dask distributed scheduler at ADDRESS (pip install 'harmone[cluster]')")
    p.set_defaults(handler=cmd_experiment)

    p = subparsers.add_parser("demo", help=f"init, generate, train and compare all approaches in ./{DEMO_DIR}")
    p.add_argument("--dir", type=Path, default=Path(DEMO_DIR), help=f"demo workspace (default ./{DEMO_DIR})")
    _experiment_options(p)
    p.set_defaults(handler=cmd_demo)


def _experiment_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--approaches", default="all", metavar="all|LIST",
                   help="comma-separated approaches; all: the nine published ones (default; all,bandit adds the bandit)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="predictions per approach (default: whole test stream)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of exploration and training (default 0)")
    p.add_argument("--published-constants", action="store_true",
                   help="the paper's constants exactly (published energy range, budget rule and drift answer; "
                        "no validation)")
    p.add_argument("--meter", choices=("measured", "model"), default=None,
                   help="energy: measured (the workspace's meter; default for one stream) or model (fixed costs "
                        "from an energy model: the same seed gives the same decisions anywhere; default for a matrix)")
    p.add_argument("--energy-model", type=Path, default=None, metavar="PATH",
                   help="energy model JSON for --meter model (default: the packaged reference model)")


def _approach_bar(name: str) -> Callable[[int, int], None]:
    return ProgressBar(f"{name:<22}", "pred", leave=True)


def _run(workspace: Workspace, out_dir: Path, args: argparse.Namespace) -> int:
    from harmone.report import format_table, write_results

    names = experiment.parse_approaches(args.approaches, workspace.config.task)
    if note := cadence.experiment_note(workspace, names, args.steps, published=args.published_constants):
        print(f"note: {note}")
    if args.steps is not None and args.steps <= 0:
        raise HarmonEError(f"--steps {args.steps} must be positive")
    meter = None
    if args.meter == "model":
        from harmone.energy.model import ModelMeter, load_energy_model

        meter = ModelMeter(load_energy_model(args.energy_model))
    runs = experiment.run_experiment(workspace, out_dir, approaches=names, steps=args.steps, seed=args.seed,
                                     published_constants=args.published_constants, progress_for=_approach_bar,
                                     meter=meter)
    results = [experiment.to_result(run) for run in runs]
    meter = {"kind": runs[0].summary.meter_kind, "source": runs[0].summary.meter_source}
    paths = write_results(results, out_dir, seed=args.seed, meter=meter,
                          extra={"preset": "published" if args.published_constants else "default",
                                 "steps": args.steps, "workspace": str(workspace.root.resolve()),
                                 "task": workspace.config.task.name})
    print()
    print(format_table(results))
    print()
    for key, path in paths.items():
        print(f"  {key:<17} {path}")
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    if getattr(args, "seeds", None) is not None or getattr(args, "streams", None) is not None or args.cluster:
        from harmone.cli.matrix_cmd import run_matrix_command

        return run_matrix_command(args, MATRIX_DIR)
    workspace = Workspace.open(workspace_dir(args))
    out_dir = args.out or workspace.experiment_dir
    return _run(workspace, out_dir, args)


def cmd_demo(args: argparse.Namespace) -> int:
    workspace, _ = Workspace.init(args.dir)
    print(f"Workspace: {workspace.root.resolve()}")
    with lock.exclusive(workspace.knowledge_dir, "harmone demo"):  # it replaces the data and the models
        stream = lifecycle.use_builtin_stream(workspace, seed=args.seed)
        print(f"Built-in stream: {len(stream.train)} training values, {len(stream.test)} test values; regimes:")
        for regime in stream.regimes:
            print(f"  [{regime.start:>6}, {regime.end:>6})  {regime.name}")
        print_training(lifecycle.train_initial(workspace, lifecycle.parse_kinds(None, workspace.config.stream.models),
                                               seed=args.seed, progress_for=training_bar), workspace.config.task)
        print_calibration(lifecycle.calibrate_energy(workspace))
    return _run(workspace, workspace.experiment_dir, args)
