"""The matrix report on disk: matrix.md (regret first), matrix.json, two CSVs and two plots."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harmone import atomic, tasks
from harmone.report.matrix import FIGURES, INTERVAL_METHOD, aggregate
from harmone.tasks import Task

_LABELS = {"r2": "R²", "energy_uj_per_prediction": "energy/pred (mJ)", "skill": "skill vs persistence"}


def _task(report: Mapping[str, Any]) -> Task:
    """The task of the matrix's streams (one matrix compares one task's approaches)."""
    from harmone.matrix.streams import task_of

    return tasks.get(task_of(report["streams"][0])) if report["streams"] else tasks.get("forecasting")


def _labels(report: Mapping[str, Any]) -> dict[str, str]:
    """Column names in the task's words: R² or accuracy, skill over persistence or Kappa-temporal."""
    task = _task(report)
    return {**_LABELS, "r2": task.metric, "skill": f"{task.skill_name} vs {task.baseline}"}


def _scale(figure: str) -> float:
    return 1e-3 if figure == "energy_uj_per_prediction" else 1.0  # µJ -> mJ


def _num(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ci(entry: Mapping[str, Any], figure: str, digits: int = 4) -> str:
    k = _scale(figure)
    if entry["mean"] is None:
        return "n/a"
    if entry["low"] is None:
        return _num(entry["mean"] * k, digits)
    return f"{entry['mean'] * k:.{digits}f} [{entry['low'] * k:.{digits}f}, {entry['high'] * k:.{digits}f}]"


def _meter_line(report: Mapping[str, Any]) -> str:
    parts = []
    for meter in report["meters"]:
        note = ("modelled, not measured: every activity is charged a fixed cost from the energy model"
                if meter["modelled"] else f"{meter['kind']}")
        parts.append(f"`{meter['source']}` ({note})")
    return "Energy meter: " + "; ".join(parts)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def claims_markdown(report: Mapping[str, Any]) -> list[str]:
    """The decidable claims: harmone vs single-lstm+retrain (ratios) and vs switch (pairs)."""
    lines = []
    if report["claims"]:
        lines += _table(["streams", "energy harmone / single-lstm+retrain (goal <= 0.5)", "verdict",
                         "R² harmone / single-lstm+retrain (goal >= 0.95)", "verdict", "pairs"],
                        [[c["streams"], _ci(c["energy_ratio"], "ratio", 3), c["energy_ratio"]["verdict"],
                          _ci(c["r2_ratio"], "ratio", 3), c["r2_ratio"]["verdict"], str(c["energy_ratio"]["n"])]
                         for c in report["claims"]])
    switch = [p for p in report["paired"] if p["approach"] == "switch"]
    if switch:
        lines += ["", "harmone minus switch, paired by seed (mean [95% CI], wins of harmone / pairs):", ""]
        lines += _table(["stream", *(_labels(report)[f] for f in FIGURES)],
                        [[p["stream"], *(f"{_ci(p[f], f)} ({p[f]['wins']}/{p[f]['pairs']})" for f in FIGURES)]
                         for p in switch])
    return lines


def markdown(report: Mapping[str, Any]) -> str:
    lines = [f"# Matrix: {report['cells']} cells, {len(report['streams'])} streams x {len(report['seeds'])} seeds "
             f"x {len(report['approaches'])} approaches", "", _meter_line(report) + ".",
             f"Intervals: {INTERVAL_METHOD}. Energy per prediction includes adaptation (loops and retraining).", "",
             f"## Regret ({_task(report).metric} given up against the best approach spending no more energy on the "
             f"same stream)", ""]
    lines += _table(["approach", "mean regret", "worst regret", "worst on"],
                    [[r["approach"], _num(r["mean_regret"]), _num(r["worst_regret"]), r["worst_stream"]]
                     for r in report["regret"]])
    lines += ["", "## Claims", ""] + claims_markdown(report)
    lines += ["", "## Per stream and approach (mean [95% CI])", ""]
    lines += _table(["stream", "approach", "seeds", *(_labels(report)[f] for f in FIGURES)],
                    [[s["stream"], s["approach"], str(s["seeds"]), *(_ci(s[f], f) for f in FIGURES)]
                     for s in report["summary"]])
    lines += ["", "## harmone minus each approach, paired by seed (mean [95% CI], wins / pairs)", ""]
    lines += _table(["stream", "approach", *(_labels(report)[f] for f in FIGURES)],
                    [[p["stream"], p["approach"],
                      *(f"{_ci(p[f], f)} ({p[f]['wins']}/{p[f]['pairs']})" for f in FIGURES)]
                     for p in report["paired"]])
    lines += ["", f"## Pareto front per stream (mean energy up, mean {_task(report).metric} up)", ""]
    lines += [f"- {stream}: {', '.join(front)}" for stream, front in report["pareto"].items()]
    return "\n".join(lines) + "\n"


def _csv(rows: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _flat_summary(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"stream": s["stream"], "approach": s["approach"], "seeds": s["seeds"],
             **{f"{f}_{part}": s[f][part] for f in FIGURES for part in ("mean", "low", "high")}}
            for s in report["summary"]]


def _save(figure: Any, path: Path) -> None:
    """PNG bytes written atomically: a plot never lands on a device or a FIFO of that name."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    atomic.write_bytes(path, buffer.getvalue())


def plot_matrix(report: Mapping[str, Any], out_dir: Path) -> dict[str, Path]:
    """Energy vs R² per stream (means with 95 % intervals) and the regret bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    streams = report["streams"]
    cols = min(3, len(streams))
    rows = (len(streams) + cols - 1) // cols
    figure, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows + 1.0), squeeze=False)
    for ax, stream in zip(axes.flat, streams):
        front = set(report["pareto"].get(stream, []))
        for s in (s for s in report["summary"] if s["stream"] == stream):
            e, r2 = s["energy_uj_per_prediction"], s["r2"]
            if e["mean"] is None or r2["mean"] is None:
                continue
            xerr = None if e["low"] is None else [[(e["mean"] - e["low"]) / 1e3], [(e["high"] - e["mean"]) / 1e3]]
            yerr = None if r2["low"] is None else [[r2["mean"] - r2["low"]], [r2["high"] - r2["mean"]]]
            ax.errorbar(e["mean"] / 1e3, r2["mean"], xerr=xerr, yerr=yerr, fmt="o" if s["approach"] in front else "x",
                        capsize=2, label=s["approach"])
        ax.set_title(stream)
        ax.set_xscale("log")  # energies span two orders of magnitude across the zoo
        ax.set_xlabel("energy per prediction (mJ, log)")
        ax.set_ylabel(_task(report).metric)
    for ax in list(axes.flat)[len(streams):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=5, fontsize=7)
    figure.tight_layout(rect=(0, 1.0 / (3.4 * rows + 1.0) + 0.02, 1, 1))
    paths = {"energy_vs_r2": out_dir / "matrix_energy_vs_r2.png", "regret_plot": out_dir / "matrix_regret.png"}
    _save(figure, paths["energy_vs_r2"])
    plt.close(figure)
    figure, ax = plt.subplots(figsize=(7, 3.5))
    names = [r["approach"] for r in report["regret"]]
    ax.barh(names, [r["mean_regret"] for r in report["regret"]], label="mean over streams")
    ax.scatter([r["worst_regret"] for r in report["regret"]], names, color="black", marker="|", s=120, label="worst")
    ax.invert_yaxis()
    ax.set_xlabel(f"{_task(report).metric} regret")
    ax.legend(fontsize=8)
    figure.tight_layout()
    _save(figure, paths["regret_plot"])
    plt.close(figure)
    return paths


def write_matrix_report(records: Sequence[Mapping[str, Any]], out_dir: Path, *, plots: bool = True,
                        extra: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Aggregate the cells and write the report files; returns their paths by name."""
    out_dir = Path(out_dir)
    report = {**aggregate(records), **(dict(extra) if extra else {})}
    paths = {"markdown": out_dir / "matrix.md", "json": out_dir / "matrix.json",
             "summary_csv": out_dir / "matrix.csv", "cells_csv": out_dir / "matrix_cells.csv"}
    atomic.write_text(paths["markdown"], markdown(report))
    atomic.write_text(paths["json"], json.dumps(report, indent=1, sort_keys=True, default=float) + "\n")
    atomic.write_text(paths["summary_csv"], _csv(_flat_summary(report)))
    atomic.write_text(paths["cells_csv"], _csv(report["rows"]))
    if plots and report["summary"]:
        paths.update(plot_matrix(report, out_dir))
    return paths
