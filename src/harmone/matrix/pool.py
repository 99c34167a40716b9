"""Run the cells of a matrix: in this process, on a local process pool, or on a Dask cluster.

Every cell is an independent task that writes its own results file, so the driver only
hands out cells and counts: a cell whose file exists is skipped (a rerun continues where
the last one stopped), a cell that fails is reported with its error and the others go on.

Local pool: ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start method
(a fresh interpreter per worker: no forked torch or SQLite state). Cluster: a
``distributed.Client`` connected to ``ADDRESS`` (Dask; the ``cluster`` extra), tasks
submitted with ``pure=False`` so a retried cell is never served from a cache.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harmone.errors import HarmonEError
from harmone.mape.loop_base import error_text
from harmone.matrix.cell import CELLS_DIR, CellOptions, cell_path, run_cell
from harmone.matrix.spec import Cell

#: progress(done, total): called after every finished (or failed, or skipped) cell.
CellProgress = Callable[[int, int], None]
#: File (in the output dir) listing the cells that failed in the last run, with their errors.
FAILED_FILE = "failed.json"


@dataclass
class MatrixRun:
    """How a run of the matrix went: cells run now, skipped (already done), failed (with error)."""

    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0


def _task(cell: Cell, options: CellOptions, out_dir: str) -> None:
    """The unit of work on any worker: run the cell; its file is the result."""
    run_cell(cell, options, out_dir)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _run_local(todo: Sequence[Cell], options: CellOptions, out_dir: str, workers: int,
               finished: Callable[[Cell, BaseException | None], None]) -> None:
    if workers <= 1:
        for cell in todo:
            try:
                _task(cell, options, out_dir)
            except Exception as exc:  # noqa: BLE001 - a failed cell is reported, the others run
                finished(cell, exc)
            else:
                finished(cell, None)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: dict[Future, Cell] = {pool.submit(_task, cell, options, out_dir): cell for cell in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                cell = pending.pop(future)
                finished(cell, future.exception())


def _run_cluster(todo: Sequence[Cell], options: CellOptions, out_dir: str, address: str,
                 finished: Callable[[Cell, BaseException | None], None]) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise HarmonEError("--cluster needs Dask distributed: pip install 'harmone[cluster]'") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise HarmonEError(f"--cluster {address}: cannot connect ({exc})") from None
    with client:
        futures = {client.submit(_task, cell, options, out_dir, pure=False, key=f"harmone-cell-{cell.id}-{time.time_ns()}"):
                   cell for cell in todo}
        for future in as_completed(futures):
            cell = futures[future]
            finished(cell, future.exception())


#: What a matrix's finished cells were run with, kept beside them.
OPTIONS_FILE = "matrix-options.json"


def _claim_output(out_dir: Path, options: CellOptions) -> None:
    """Finished cells count only for the same matrix: other options are a one-line error.

    A rerun skips finished cells; with other approaches, steps, meter or configuration those
    cells would answer another question, so they are never mixed into this one's report.
    """
    from dataclasses import asdict

    from harmone import atomic

    wanted = json.loads(json.dumps(asdict(options)))
    path = out_dir / OPTIONS_FILE
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = None
        if stored != wanted:
            changed = sorted(k for k in wanted if not isinstance(stored, dict) or stored.get(k) != wanted[k])
            raise HarmonEError(f"{out_dir} holds cells of another matrix (different {', '.join(changed) or 'file'});"
                               f" use another --out or remove that directory")
    elif any((out_dir / CELLS_DIR).iterdir()):
        raise HarmonEError(f"{out_dir} holds cells of a matrix whose options are unknown; use another --out")
    atomic.write_text(path, json.dumps(wanted, indent=2) + "\n")


def run_matrix(cells: Iterable[Cell], options: CellOptions, out_dir: Path, *, workers: int | None = None,
               cluster: str | None = None, progress: CellProgress | None = None) -> MatrixRun:
    """Run every cell not finished yet; failed cells are listed in ``failed.json`` and the result."""
    out_dir = Path(out_dir)
    (out_dir / CELLS_DIR).mkdir(parents=True, exist_ok=True)
    _claim_output(out_dir, options)
    cells = list(cells)
    run = MatrixRun()
    todo = []
    for cell in cells:
        if cell_path(out_dir, cell).exists():
            run.skipped.append(cell.id)
        else:
            todo.append(cell)
    total, count = len(cells), len(run.skipped)
    if progress is not None:
        progress(count, total)

    def finished(cell: Cell, error: BaseException | None) -> None:
        nonlocal count
        count += 1
        if error is None:
            run.ran.append(cell.id)
        else:
            run.failed[cell.id] = error_text(error)
        if progress is not None:
            progress(count, total)

    started = time.perf_counter()
    if cluster:
        _run_cluster(todo, options, str(out_dir), cluster, finished)
    else:
        _run_local(todo, options, str(out_dir), workers or default_workers(), finished)
    run.wall_s = time.perf_counter() - started
    failed_path = out_dir / FAILED_FILE
    if run.failed:
        failed_path.write_text(json.dumps(run.failed, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    elif failed_path.exists():
        failed_path.unlink()
    return run


def load_cells(out_dir: Path, cells: Iterable[Cell] | None = None) -> list[dict[str, Any]]:
    """The results files of ``cells`` (default: every finished cell in the directory), in order."""
    directory = Path(out_dir) / CELLS_DIR
    paths = ([cell_path(out_dir, cell) for cell in cells] if cells is not None
             else sorted(directory.glob("*.json")))
    records = []
    for path in paths:
        if path.exists():
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError) as exc:
                raise HarmonEError(f"{path}: unreadable cell results ({exc}); delete it to rerun the cell") from None
    return records
