"""`harmone energy` and `harmone energy calibrate`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from harmone import lifecycle, lock
from harmone.cli import workspace_dir
from harmone.config import Config
from harmone.workspace import Workspace


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("energy", parents=[common],
                              help="show the energy meter and self-check it; `calibrate` measures each model")
    p.add_argument("action", nargs="?", choices=["calibrate"], help="calibrate: measure every trained model")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_energy)


def _config(args: argparse.Namespace) -> Config:
    root = workspace_dir(args)
    if Workspace(root).config_path.exists():
        return Workspace.open(root).config
    return Config()  # `harmone energy` also works outside a workspace, with the defaults


def cmd_energy(args: argparse.Namespace) -> int:
    if args.action == "calibrate":
        return _calibrate(args)
    from harmone.energy.detect import detect, rapl_status
    from harmone.energy.report import self_check

    config = _config(args)
    with detect(config.energy) as meter:
        check = self_check(meter)
        kind, source, resolution_uj = meter.kind, meter.source, meter.resolution_uj
    check["rapl"] = rapl_status()
    if args.json:
        print(json.dumps(check, indent=2))
        return 0
    print(f"meter:          {source} ({kind})")
    print(f"resolution:     {resolution_uj:g} µJ")
    print(f"one reading:    {check['read_cost_us']:.2f} µs")
    print(f"self-check:     {check['busy_energy_uj'] / 1e6:.3f} J over a {check['busy_duration_s']:.2f} s busy loop"
          f" ({check['busy_power_w']:.1f} W, {kind})")
    print(f"RAPL:           {check['rapl']}")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    workspace = Workspace.open(workspace_dir(args))
    with lock.exclusive(workspace.knowledge_dir, "harmone energy calibrate"):  # it measures the models alone
        calibration = lifecycle.calibrate_energy(workspace)
    if args.json:
        print(json.dumps(calibration.to_dict(), indent=2))
        return 0
    print(f"Energy per prediction ({calibration.meter_kind}, {calibration.meter_source}), each prediction served"
          f" after {calibration.gap_s:g} s idle as a live one is:")
    for kind, energy in sorted(calibration.energy_uj_per_prediction.items()):
        overhead = calibration.overhead_uj_per_prediction.get(kind)
        extra = f"   + serving overhead {overhead:8.2f} µJ" if overhead is not None else ""
        print(f"  {kind:<11} model {energy:9.2f} µJ   normalised {calibration.normalised(kind):.3f}{extra}")
    print(f"Proposed range: E_m = {calibration.e_min_uj:.2f} µJ, E_M = {calibration.e_max_uj:.2f} µJ"
          f" (saved to {workspace.calibration_path}; used when [energy] normalisation = \"calibrated\")")
    return 0
