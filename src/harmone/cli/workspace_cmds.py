"""`harmone init`, `harmone status`, `harmone export`."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from harmone import atomic
from harmone import config as config_mod
from harmone.cadence import PRESETS, with_preset
from harmone.cli import workspace_dir
from harmone.errors import HarmonEError
from harmone.knowledge import KnowledgeStore
from harmone.workspace import Workspace


from harmone import tasks


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("init", parents=[common], help="create a workspace (idempotent)")
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="start from a configuration preset (short: every loop runs on ~1,000 test values)")
    p.add_argument("--task", choices=tasks.names(), default=None,
                   help="what the stream's records are: forecasting (default) or classification; docs/tasks.md")
    p.set_defaults(handler=cmd_init)

    p = subparsers.add_parser("status", parents=[common], help="show the state of a workspace")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_status)

    p = subparsers.add_parser("export", parents=[common], help="export logged data")
    p.add_argument("what", choices=["predictions"], help="what to export")
    p.add_argument("-o", "--output", required=True, metavar="FILE.csv",
                   help="output CSV file, replaced whole once complete; '-' writes to standard output")
    p.set_defaults(handler=cmd_export)


def cmd_init(args: argparse.Namespace) -> int:
    workspace, created = Workspace.init(workspace_dir(args), args.task)
    where = workspace.root.resolve()
    if created:
        print(f"Initialised a HarmonE workspace in {where}")
        print(f"  configuration: {workspace.config_path.name} (published constants and documented fixes; edit to tune)")
        if args.task:
            print(f"  task:          {args.task} (kinds served: {', '.join(workspace.config.stream.models)})")
        if args.preset:
            atomic.write_text(workspace.config_path, config_mod.render(with_preset(workspace.config, args.preset)))
            print(f"  preset:        {args.preset} (loop timings and windows for a short stream)")
    else:
        print(f"{where} is already a HarmonE workspace; nothing was changed")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from harmone.status import read_status

    workspace = Workspace.open(workspace_dir(args))
    status = read_status(workspace)
    if args.json:
        print(json.dumps(status.to_dict(), indent=2))
        return 0
    print(f"workspace:     {status.workspace}")
    print(f"approach:      {status.loops.approach}")
    version = status.active_version
    print(f"active model:  {status.active_model}" + (f" (version {version})" if version else " (not trained)"))
    if not status.models:
        print("models:        none trained (run `harmone train`)")
    for kind, entry in status.models.items():
        versions = ", ".join(str(v) for v in entry.versions)
        print(f"  {kind:<8} versions {versions}; active {entry.active_version}")
    print(f"predictions:   {status.predictions}")
    if status.recent_r2 is not None:
        metric = f"recent {workspace.config.task.metric}:"
        print(f"{metric:<14} {status.recent_r2:.4f} (last {status.recent_rows} predictions)")
    if status.recent_energy_uj_per_prediction is not None:
        meter = status.meter or {}
        label = f" ({meter.get('kind')}, {meter.get('source')})" if meter else ""
        print(f"recent energy: {status.recent_energy_uj_per_prediction:.2f} µJ per prediction{label}")
    print_energy_split(status)
    loops = status.loops
    print(f"loops:         {', '.join(loops.loops) or 'none (a fixed model)'}")
    if loops.switch is not None and "switch" in loops.loops:
        state = loops.switch.switch
        emas = ", ".join(f"{k} {v:.3f}" for k, v in sorted(state.ema.items()))
        print(f"  switch: EMA {emas}; energy budget {state.budget:.3f}; recovery cycles {state.recovery}")
    if loops.drift is not None and "drift" in loops.loops and loops.drift.last_score is not None:
        print(f"  drift:  last {workspace.config.drift.detector} score {loops.drift.last_score:.3f}")
    running = [f"{name} {holder}" for name, holder in status.running.items() if holder is not None]
    print(f"running:       {'; '.join(running) or 'nothing (no infer or manage holds the workspace)'}")
    if status.cadence_note:
        print(f"note:          {status.cadence_note}")
    return 0


def print_energy_split(status: Any) -> None:
    """Per kind: the model's own work and the serving overhead, live and calibrated, each labelled."""
    if not status.energy:
        return
    live = (status.meter or {}).get("kind", "?")
    calibrated = (status.calibration_meter or {}).get("kind", "?")
    print(f"energy per prediction, µJ (model's own work + serving overhead; live {live}, calibrated {calibrated}):")
    for kind, figures in status.energy.items():
        served = (f"live {_pair(figures.live_model_uj, figures.live_overhead_uj)} over {figures.live_rows} rows"
                  if figures.live_rows else "not served recently")
        print(f"  {kind:<11} {served}; calibrated {_pair(figures.calibrated_model_uj, figures.calibrated_overhead_uj)}")
    basis = status.energy_basis
    if basis:
        factors = ", ".join(f"{kind} x{factor:.3f}" for kind, factor in sorted(basis.get("by_kind", {}).items()))
        print(f"  live correction (live over calibrated model energy, newest rows): {factors};"
              f" x{basis['factor']:.3f} for a kind not served yet")


def _pair(model_uj: float | None, overhead_uj: float | None) -> str:
    if model_uj is None:
        return "—"
    return f"{model_uj:.1f} + {overhead_uj:.1f}" if overhead_uj is not None else f"{model_uj:.1f} + ?"


def cmd_export(args: argparse.Namespace) -> int:
    """Export through a temporary file: a failure never leaves a partial or clobbered output."""
    from harmone.data.output_path import STDOUT, check_output_path

    to_stdout = args.output == STDOUT
    if to_stdout and sys.stdout is None:
        raise HarmonEError("standard output is closed; give a file name with -o")
    output = None if to_stdout else check_output_path(args.output, what="export", stdout_hint=True)
    workspace = Workspace.open(workspace_dir(args))
    if output is None:
        with tempfile.TemporaryDirectory(prefix="harmone-export-") as scratch:
            KnowledgeStore.export_log(workspace.db_path, Path(scratch) / "predictions.csv")
            sys.stdout.flush()
            with open(Path(scratch) / "predictions.csv", "rb") as handle:
                shutil.copyfileobj(handle, sys.stdout.buffer)
        return 0
    with atomic.replacing(output) as tmp:
        count = KnowledgeStore.export_log(workspace.db_path, tmp)
    print(f"Wrote {count} predictions to {output}")
    return 0
