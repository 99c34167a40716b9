"""`harmone data synth | import | drift`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


from harmone import lifecycle
from harmone.cli import workspace_dir
from harmone.data.synth import PROFILES
from harmone.workspace import Workspace


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    data = subparsers.add_parser("data", help="create, import or alter the stream data")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser("synth", parents=[common], help="generate the built-in traffic stream")
    p.add_argument("--steps", type=int, default=None, help="length of the whole series (default: built-in)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--train-ratio", type=float, default=None, help="leading share for training (default: config)")
    p.add_argument("--profile", default="default", choices=list(PROFILES),
                   help="stream character: default; alt (other seasonality and drift schedule); pems (congestion "
                        "breakdown, as hard for the models as PeMS data); docs/data.md")
    p.set_defaults(handler=cmd_synth)

    p = sub.add_parser("import", parents=[common], help="import CSV files (e.g. PeMS exports) as the stream")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--column", default="Flow (Veh/5 Minutes)", help="numeric column to read")
    p.add_argument("--train-ratio", type=float, default=None, help="leading share for training (default: config)")
    p.add_argument("--fill", choices=["interpolate"], default=None, help="fill blank values instead of failing")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("drift", parents=[common], help="induce drift in regions of the test stream")
    p.add_argument("--region", action="append", required=True, metavar="START:END:SCALE:SHIFT",
                   help="values[START:END] become values*SCALE+SHIFT (repeatable)")
    p.add_argument("--plot", type=Path, metavar="FILE.png", help="write a before/after plot")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=cmd_drift)


def cmd_synth(args: argparse.Namespace) -> int:
    workspace = Workspace.open(workspace_dir(args))
    stream = lifecycle.use_builtin_stream(workspace, steps=args.steps, seed=args.seed, profile=args.profile,
                                          train_ratio=args.train_ratio)
    print(f"Generated {len(stream.values)} values ({args.profile} profile, seed {args.seed}):"
          f" {len(stream.train)} for training, {len(stream.test)} for the test stream")
    for regime in stream.regimes:
        print(f"  [{regime.start:>6}, {regime.end:>6})  {regime.name}: {regime.description}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from harmone.data.importer import import_csv

    workspace = Workspace.open(workspace_dir(args))
    values = import_csv(args.files, column=args.column, fill=args.fill)
    train, test = lifecycle.use_series(workspace, values, train_ratio=args.train_ratio)
    print(f"Imported {len(values)} values from {len(args.files)} file(s):"
          f" {len(train)} for training, {len(test)} for the test stream")
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    from harmone.data.drift import induce, parse_region

    workspace = Workspace.open(workspace_dir(args))
    regions = [parse_region(text) for text in args.region]
    if not args.yes:
        answer = input(f"Rewrite {workspace.test_path} with {len(regions)} drift region(s)? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("Nothing changed")
            return 1
    backup = induce(workspace.test_path, regions, plot=args.plot)
    print(f"Applied {len(regions)} drift region(s) to {workspace.test_path}; backup in {backup}")
    if args.plot:
        print(f"Plot: {args.plot}")
    return 0
