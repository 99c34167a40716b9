"""`harmone train`."""

from __future__ import annotations

import argparse
from typing import Any

from harmone import lifecycle, lock
from harmone.cli import workspace_dir
from harmone.cli.args import seed_int
from harmone.cli.progress import training_bar
from harmone.workspace import Workspace


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("train", parents=[common], help="train models and store them as new versions")
    p.add_argument("--models", metavar="LIST", help="comma-separated kinds (default: the served kinds, [stream] models)")
    p.add_argument("--seed", type=seed_int, default=0, help="training seed (default 0)")
    p.set_defaults(handler=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    workspace = Workspace.open(workspace_dir(args))
    kinds = lifecycle.parse_kinds(args.models, workspace.config.stream.models)
    with lock.exclusive(workspace.knowledge_dir, "harmone train"):
        print_training(lifecycle.train_initial(workspace, kinds, seed=args.seed, progress_for=training_bar),
                       workspace.config.task)
        print(f"Active model: {workspace.read_active_model()}")
        print_calibration(lifecycle.calibrate_energy(workspace))
    return 0


def print_training(rows: list[dict[str, Any]], task: Any) -> None:
    """One line per trained kind: its held-out metric and skill over the task's naive baseline."""
    width = max([9, *(len(row["model"]) for row in rows)])
    metric, skill = f"held-out {task.metric}", task.skill_name
    print(f"{'model':<{width}} {'version':>7} {metric:>{len(metric)}} {skill:>{max(9, len(skill))}} {'time':>8}")
    for row in rows:
        print(f"{row['model']:<{width}} {row['version']:>7} {row['holdout_score']:>{len(metric)}.4f}"
              f" {row['holdout_skill']:>+{max(9, len(skill))}.3f} {row['train_time_s']:>7.1f}s")


def print_calibration(calibration: Any) -> None:
    if calibration is None:
        print("Energy calibration skipped: the fake meter counts no energy")
        return
    overhead = calibration.overhead_uj_per_prediction
    per_kind = ", ".join(f"{k} {v:.1f}" + (f" + {overhead[k]:.1f}" if k in overhead else "") + " µJ"
                         for k, v in sorted(calibration.energy_uj_per_prediction.items()))
    print(f"Energy per prediction ({calibration.meter_kind}, model's own work + serving overhead, each after"
          f" {calibration.gap_s:g} s idle): {per_kind}; calibrated range E_M = {calibration.e_max_uj:.1f} µJ")
