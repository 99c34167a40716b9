"""`harmone data synth | import | drift`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


from harmone import lifecycle, lock
from harmone.cli import confirmed, workspace_dir
from harmone.cli.args import bounded_int, seed_int, share, single_char
from harmone.data.importer import DECIMALS
from harmone.data.series import DELIMITERS
from harmone.data.synth import MAX_STEPS, PROFILES
from harmone.errors import HarmonEError
from harmone.workspace import Workspace

#: The classification profiles of ``data synth`` (``harmone.data.digits``).
DIGITS_PROFILES = ("digits",)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    data = subparsers.add_parser("data", help="create, import or alter the stream data")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser("synth", parents=[common], help="generate a built-in stream (traffic flow, or digits images)")
    p.add_argument("--steps", type=bounded_int(1, MAX_STEPS), default=None,
                   help=f"length of the whole series, up to {MAX_STEPS:,} (default: built-in)")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    p.add_argument("--train-ratio", type=share, default=None, help="leading share for training (default: config)")
    p.add_argument("--profile", default="default", choices=[*PROFILES, *DIGITS_PROFILES],
                   help="stream character: default; alt (other seasonality and drift schedule); pems (congestion "
                        "breakdown, as hard for the models as PeMS data); digits (8x8 images of digits under "
                        "corruptions: a classification stream); docs/data.md")
    p.set_defaults(handler=cmd_synth)

    p = sub.add_parser("import", parents=[common], help="import a numeric series from CSV files as the stream")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--column", default=None,
                   help="numeric column to read (default: the PeMS flow column, or the only column "
                        "besides the time column)")
    p.add_argument("--label", default=None, metavar="COLUMN",
                   help="import a classification stream: COLUMN holds each row's class, the other numeric "
                        "columns are its features (rows stay in file order)")
    p.add_argument("--time-column", default=None, metavar="NAME",
                   help="column of time stamps, kept beside the values for plots and reports")
    p.add_argument("--delimiter", type=single_char(DELIMITERS), default=None,
                   help="field separator: ',', ';', '\\t' (or tab) or '|' (default: detected)")
    p.add_argument("--decimal", type=single_char(DECIMALS), default=".",
                   help="decimal mark: '.' (default) or ','")
    p.add_argument("--non-negative", action="store_true", default=None,
                   help="reject negative values (always on for the PeMS flow column)")
    p.add_argument("--train-ratio", type=share, default=None, help="leading share for training (default: config)")
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
    if args.profile in DIGITS_PROFILES:
        return _synth_digits(workspace, args)
    with lock.exclusive(workspace.knowledge_dir, "harmone data synth"):
        _use_task(workspace, "forecasting")
        stream = lifecycle.use_builtin_stream(workspace, steps=args.steps, seed=args.seed, profile=args.profile,
                                              train_ratio=args.train_ratio)
    print(f"Generated {len(stream.values)} values ({args.profile} profile, seed {args.seed}):"
          f" {len(stream.train)} for training, {len(stream.test)} for the test stream")
    for regime in stream.regimes:
        print(f"  [{regime.start:>6}, {regime.end:>6})  {regime.name}: {regime.description}")
    return 0


def _use_task(workspace: Workspace, task: str) -> None:
    if workspace.use_task(task):
        print(f"{workspace.config_path}: [stream] task = {task!r}, serving {', '.join(workspace.config.stream.models)}")


def _synth_digits(workspace: Workspace, args: argparse.Namespace) -> int:
    from harmone.data.digits import generate

    ratio = workspace.config.stream.train_ratio if args.train_ratio is None else args.train_ratio
    stream = generate(args.steps, args.seed, train_ratio=ratio)
    with lock.exclusive(workspace.knowledge_dir, "harmone data synth"):
        _use_task(workspace, "classification")
        lifecycle.use_labelled(workspace, stream.train, stream.test)
    print(f"Generated {len(stream.train) + len(stream.test)} images (digits profile, seed {args.seed}):"
          f" {len(stream.train)} for training, {len(stream.test)} for the test stream")
    for regime in stream.regimes:
        print(f"  [{regime.start:>6}, {regime.end:>6})  {regime.name}: {regime.description}")
    return 0


def _import_labelled(workspace: Workspace, args: argparse.Namespace) -> int:
    from harmone.data.importer import read_labelled_csv
    from harmone.data.labelled import split_labelled

    if args.column is not None or args.time_column is not None or args.fill or args.non_negative:
        raise HarmonEError("--label imports every other numeric column as a feature: --column, --time-column, "
                           "--fill and --non-negative apply to a series import only")
    data = read_labelled_csv(args.files, label=args.label, delimiter=args.delimiter, decimal=args.decimal)
    ratio = workspace.config.stream.train_ratio if args.train_ratio is None else args.train_ratio
    with lock.exclusive(workspace.knowledge_dir, "harmone data import"):
        _use_task(workspace, "classification")
        need = workspace.config.task.min_records(workspace.config)
        train, test = split_labelled(data, ratio, min_train=need, min_test=1)
        lifecycle.use_labelled(workspace, train, test)
    print(f"Imported {len(data)} records of {data.X.shape[1]} features and {data.n_classes} classes"
          f" ({', '.join(data.class_names[:10])}{', ...' if data.n_classes > 10 else ''}) from {len(args.files)}"
          f" file(s): {len(train)} for training, {len(test)} for the test stream")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from harmone.data.importer import read_csv_series, store
    from harmone.training import min_series_length

    workspace = Workspace.open(workspace_dir(args))
    if args.label is not None:
        return _import_labelled(workspace, args)
    imported = read_csv_series(args.files, column=args.column, fill=args.fill, delimiter=args.delimiter,
                               time_column=args.time_column, non_negative=args.non_negative,
                               decimal=args.decimal)
    stream = workspace.config.stream
    ratio = stream.train_ratio if args.train_ratio is None else args.train_ratio
    with lock.exclusive(workspace.knowledge_dir, "harmone data import"):
        _use_task(workspace, "forecasting")
        train, test = store(workspace.data_dir, imported, train_ratio=ratio, window=stream.input_length,
                            min_train=min_series_length(stream.input_length, stream.fit_fraction))
    stamps = " with time stamps" if imported.times is not None else ""
    print(f"Imported {len(imported.values)} values of {imported.column!r}{stamps} from {len(args.files)} file(s):"
          f" {len(train)} for training, {len(test)} for the test stream")
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    from harmone.data.drift import induce, parse_region

    from harmone.data.output_path import check_output_path

    workspace = Workspace.open(workspace_dir(args))
    regions = [parse_region(text) for text in args.region]
    if args.plot is not None:  # before the question: a bad path should not cost a confirmation
        check_output_path(args.plot, what="plot")
    if not args.yes and not confirmed(f"Rewrite {workspace.test_path} with {len(regions)} drift region(s)?",
                                      f"refusing to rewrite {workspace.test_path}"):
        print("Nothing changed")
        return 1
    with lock.exclusive(workspace.knowledge_dir, "harmone data drift"):
        backup = induce(workspace.test_path, regions, plot=args.plot)
    print(f"Applied {len(regions)} drift region(s) to {workspace.test_path}; backup in {backup}")
    if args.plot:
        print(f"Plot: {args.plot}")
    return 0
