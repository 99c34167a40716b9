"""Writing a comparison's files: results.csv/json/md, run.json and the plots, each atomically."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harmone import atomic
from harmone.report.plots import plot_harmone_timeline, plot_rolling_r2
from harmone.report.pareto import plot_energy_vs_r2
from harmone.report.results import ReportError, RunResult, by_name, with_series
from harmone.report.tables import results_markdown, results_rows


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


def _run_document(seed: int, meter: Mapping[str, Any], extra: Mapping[str, Any] | None,
                  approaches: list[str]) -> str:
    run: dict[str, Any] = {"seed": seed, "meter": dict(meter), "approaches": approaches}
    for key, value in (extra or {}).items():
        if key in run and run[key] != value:
            raise ReportError(f"run.json: extra key {key!r} = {value!r} conflicts with {run[key]!r}")
        run[key] = value
    for key, value in run.items():
        try:
            json.dumps(value, default=_json_default, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ReportError(f"run.json: value of {key!r} cannot be written as JSON ({exc})") from None
    return json.dumps(run, default=_json_default, indent=2, ensure_ascii=False) + "\n"


def write_results(results: Sequence[RunResult], out_dir: Path, *, seed: int,
                  meter: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write tables, run info and plots into ``out_dir``, each file replaced atomically.

    Returns the written paths by role: csv, json, md, run, rolling_r2, energy_vs_r2 and,
    when harmone was run, harmone_timeline.
    """
    results = with_series(results)
    out_dir = Path(out_dir)
    rows = results_rows(results, seed=seed, meter=meter)
    run_text = _run_document(seed, meter, extra, [r.approach for r in results])
    paths = {
        "csv": out_dir / "results.csv",
        "json": out_dir / "results.json",
        "md": out_dir / "results.md",
        "run": out_dir / "run.json",
        "rolling_r2": out_dir / "rolling_r2.png",
        "energy_vs_r2": out_dir / "energy_vs_r2.png",
    }
    harmone = by_name(results).get("harmone")
    if harmone is not None:
        paths["harmone_timeline"] = out_dir / "harmone_timeline.png"

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic.write_text(paths["csv"], buffer.getvalue())
    atomic.write_text(paths["json"], json.dumps(rows, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    atomic.write_text(paths["run"], run_text)

    plot_rolling_r2(results, paths["rolling_r2"])
    plot_energy_vs_r2(results, paths["energy_vs_r2"])
    plots = [("Rolling R²", paths["rolling_r2"].name), ("Energy vs R²", paths["energy_vs_r2"].name)]
    if harmone is not None:
        plot_harmone_timeline(harmone, paths["harmone_timeline"])
        plots.insert(1, ("HarmonE timeline", paths["harmone_timeline"].name))
    atomic.write_text(paths["md"], results_markdown(results, seed=seed, meter=meter, plots=plots))
    return paths
