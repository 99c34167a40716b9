"""Matrices of experiments: approaches x streams x seeds, one independent task per cell.

``spec`` parses seeds and streams into cells; ``streams`` turns a stream name into values;
``cell`` runs one cell (train once, run every approach, write one results file);
``pool`` runs many cells on a local process pool or a Dask cluster, skipping finished ones.
The aggregated report (intervals, paired differences, Pareto fronts, regret) is in
``harmone.report.matrix``.
"""

from harmone.matrix.cell import CELLS_DIR, CellOptions, cell_path, run_cell
from harmone.matrix.pool import MatrixRun, load_cells, run_matrix
from harmone.matrix.spec import Cell, parse_seeds, parse_streams

__all__ = ["CELLS_DIR", "Cell", "CellOptions", "MatrixRun", "cell_path", "load_cells", "parse_seeds",
           "parse_streams", "run_cell", "run_matrix"]
