"""`harmone experiment --seeds 0-9 --streams default,alt,pems`: a matrix, run and reported."""

from __future__ import annotations

import argparse
from pathlib import Path

from harmone import experiment
from harmone.cli import workspace_dir
from harmone.cli.progress import ProgressBar
from harmone.errors import HarmonEError
from harmone.workspace import Workspace


def _base_config(args: argparse.Namespace) -> tuple[str | None, Path | None]:
    """The workspace's config.toml text when the command runs in a workspace, else None (defaults)."""
    try:
        workspace = Workspace.open(workspace_dir(args))
    except HarmonEError:
        if getattr(args, "workspace", None):
            raise
        return None, None
    return workspace.config_path.read_text(encoding="utf-8"), workspace.experiment_dir


def run_matrix_command(args: argparse.Namespace, default_dir: str) -> int:
    from harmone.energy.model import load_energy_model
    from harmone.matrix import CellOptions, load_cells, parse_seeds, parse_streams, run_matrix
    from harmone.matrix.spec import cells as all_cells
    from harmone import tasks
    from harmone.matrix.streams import check as check_stream, task_of
    from harmone.report.matrix_files import write_matrix_report

    streams = parse_streams(args.streams) if args.streams is not None else ["default"]
    found = sorted({task_of(stream) for stream in streams})
    if len(found) > 1:
        raise HarmonEError(f"--streams mixes tasks ({', '.join(found)}): a matrix compares the approaches of one task;"
                           f" run one matrix per task")
    names = experiment.parse_approaches(args.approaches, tasks.get(found[0]))
    if args.steps is not None and args.steps <= 0:
        raise HarmonEError(f"--steps {args.steps} must be positive")
    if args.workers is not None and args.workers <= 0:
        raise HarmonEError(f"--workers {args.workers} must be positive")
    seeds = parse_seeds(args.seeds) if args.seeds is not None else [args.seed]
    for stream in streams:
        check_stream(stream)
    streams = [str(Path(s).resolve()) if Path(s).is_file() else s for s in streams]  # workers may run elsewhere
    meter = args.meter or "model"
    energy_model = str(args.energy_model.resolve()) if args.energy_model else None
    if meter == "model":
        load_energy_model(energy_model)  # a bad file fails now, not in every cell
    config_text, workspace_out = _base_config(args)
    out_dir = experiment.usable_output_dir(args.out or workspace_out or Path(default_dir))
    options = CellOptions(approaches=tuple(names), steps=args.steps, meter=meter, energy_model=energy_model,
                          config_text=config_text, published_constants=args.published_constants)
    cells = all_cells(streams, seeds)
    where = f"cluster {args.cluster}" if args.cluster else f"{args.workers or 'all'} local worker(s)"
    print(f"Matrix: {len(streams)} stream(s) x {len(seeds)} seed(s) = {len(cells)} cells of {len(names)} "
          f"approaches, {meter} energy, on {where}; results in {out_dir}")
    bar = ProgressBar("cells", "cell", leave=True)
    run = run_matrix(cells, options, out_dir, workers=args.workers, cluster=args.cluster, progress=bar)
    bar.close()
    if run.skipped:
        print(f"{len(run.skipped)} cell(s) already finished, skipped")
    for cell_id, error in run.failed.items():
        print(f"cell {cell_id} failed: {error}")
    records = load_cells(out_dir, cells)
    if not records:
        raise HarmonEError("no cell finished; nothing to report")
    paths = write_matrix_report(records, out_dir, extra={"wall_s": round(run.wall_s, 1),
                                                          "failed": run.failed})
    print(f"{len(run.ran)} cell(s) run in {run.wall_s:.1f} s; report of {len(records)} cell(s):")
    print((out_dir / "matrix.md").read_text(encoding="utf-8").split("## Per stream")[0])
    for key, path in paths.items():
        print(f"  {key:<13} {path}")
    return 1 if run.failed else 0
