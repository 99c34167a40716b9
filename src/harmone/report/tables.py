"""Tables of a comparison: flat rows (results.csv/json), the terminal table, the markdown summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harmone import tasks
from harmone.report.claims import claims
from harmone.report.numbers import MISSING, decimals, fmt
from harmone.report.results import RunResult, checked
from harmone.tasks import Task

__all__ = ["MISSING", "format_table", "meter_label", "results_markdown", "results_rows"]


def _optional(value: float | None) -> float | None:
    return None if value is None else float(value)


def results_rows(results: Sequence[RunResult], *, seed: int, meter: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per approach (scalars only), the shape of results.csv and results.json."""
    resolution = meter.get("resolution_uj")
    rows = []
    for r in checked(results):
        rows.append({
            "approach": r.approach,
            "r2": _optional(r.r2),
            "mae": _optional(r.mae),
            "skill": _optional(r.skill),
            "baseline": _optional(r.baseline),
            "energy_mj_per_prediction": r.energy_mj_per_prediction,
            "inference_energy_mj_per_prediction": r.inference_energy_mj_per_prediction,
            "adaptation_energy_mj_per_prediction": r.adaptation_energy_mj_per_prediction,
            "retraining_energy_mj_per_prediction": r.retraining_energy_mj_per_prediction,
            "inference_energy_uj": float(r.inference_energy_uj),
            "adaptation_energy_uj": float(r.adaptation_energy_uj),
            "retraining_energy_uj": float(r.retraining_energy_uj),
            "latency_ms_mean": _optional(r.latency_ms_mean),
            "latency_ms_p95": _optional(r.latency_ms_p95),
            "switches": int(r.switches),
            "reuses": int(r.reuses),
            "retrains": int(r.retrains),
            "drift_detections": int(r.drift_detections),
            "predictions": int(r.predictions),
            "meter_kind": r.meter_kind,
            "meter_source": r.meter_source,
            "meter_resolution_uj": None if resolution is None else float(resolution),
            "seed": int(seed),
            "wall_time_s": float(r.wall_time_s),
        })
    return rows


def _energy_columns(results: Sequence[RunResult]) -> tuple[list[str], ...]:
    """Total, inference, adaptation and retraining per prediction, with the totals' decimals."""
    columns = [[r.energy_mj_per_prediction for r in results],
               [r.inference_energy_mj_per_prediction for r in results],
               [r.adaptation_energy_mj_per_prediction for r in results],
               [r.retraining_energy_mj_per_prediction for r in results]]
    d = decimals(columns[0])
    return tuple([f"{v:.{d}f}" for v in column] for column in columns)


def _meter_sentence(results: Sequence[RunResult], meter: Mapping[str, Any] | None = None) -> str:
    pairs = {(r.meter_kind, r.meter_source) for r in results}
    if len(pairs) == 1:
        kind, source = next(iter(pairs))
        if source.startswith("model:"):
            return (f"Energies are modelled, not measured ({source}): every prediction, loop run and retraining "
                    f"is charged a fixed cost from an energy model, so a seed decides every figure.")
        sentence = f"Energies are {kind} by {source}"
        resolution = (meter or {}).get("resolution_uj")
        if resolution:
            sentence += f" (resolution {float(resolution):g} µJ)"
        if kind == "estimated":
            sentence += "; they are a model of power, not a hardware measurement"
        return sentence + "."
    parts = "; ".join(f"{r.approach} {r.meter_kind} by {r.meter_source}" for r in results)
    return f"Energies come from different meters and are not directly comparable: {parts}."


def meter_label(results: Sequence[RunResult]) -> str:
    """'measured (rapl:package-0)', 'estimated (cpu-time-estimate)' or 'mixed meters'."""
    pairs = {(r.meter_kind, r.meter_source) for r in results}
    if len(pairs) == 1:
        kind, source = next(iter(pairs))
        if source.startswith("model:"):
            return f"modelled, not measured ({source}: fixed costs from an energy model)"
        return f"{kind} ({source})"
    kinds = {kind for kind, _ in pairs}
    return f"{next(iter(kinds))} (several meters)" if len(kinds) == 1 else "mixed: measured and estimated"


def task_of(results: Sequence[RunResult]) -> Task:
    """The task the results were measured on (the first result's; a report covers one stream)."""
    return tasks.get(results[0].task)


def format_table(results: Sequence[RunResult]) -> str:
    """A fixed-width table for the terminal, followed by the meter line."""
    results = checked(results)
    task = task_of(results)
    totals, inference, adaptation, retraining = _energy_columns(results)
    header = ["approach", task.metric, f"{task.baseline} {task.metric}", task.skill_name, task.error_name, "mJ/pred", "infer", "adapt", "retraining", "lat ms", "p95 ms",
              "switch", "reuse", "retrain", "drift", "predictions"]
    mae_d = decimals([r.mae for r in results])
    lat_d = decimals([r.latency_ms_p95 for r in results], significant=3)
    body = [[r.approach, fmt(r.r2, ".4f"), fmt(r.baseline, ".4f"), fmt(r.skill, "+.3f"), fmt(r.mae, f".{mae_d}f"), totals[i], inference[i],
             adaptation[i],
             retraining[i], fmt(r.latency_ms_mean, f".{lat_d}f"), fmt(r.latency_ms_p95, f".{lat_d}f"), str(r.switches),
             str(r.reuses), str(r.retrains), str(r.drift_detections), str(r.predictions)]
            for i, r in enumerate(results)]
    widths = [max(len(row[c]) for row in [header, *body]) for c in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(cell.rjust(w) for cell, w in zip(cells[1:], widths[1:]))])

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *(line(row) for row in body), rule, _meter_sentence(results)])


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def results_markdown(results: Sequence[RunResult], *, seed: int, meter: Mapping[str, Any],
                     plots: Sequence[tuple[str, str]] = ()) -> str:
    """The human-facing summary: table, meter line, claims, and links to the plots."""
    results = checked(results)
    totals, inference, adaptation, retraining = _energy_columns(results)
    lat_d = decimals([r.latency_ms_p95 for r in results], significant=3)
    mae_d = decimals([r.mae for r in results])
    task = task_of(results)
    lines = [
        "# HarmonE experiment results", "",
        f"Seed {seed}, {len(results)} approaches. {_meter_sentence(results, meter)}", "",
        f"| Approach | {task.metric} | {task.baseline.capitalize()} {task.metric} | {task.skill_name.capitalize()} over "
        f"{task.baseline} | {task.error_name} | Energy mJ/prediction (inference + adaptation; of it retraining) "
        "| Latency ms mean / p95 "
        "| Switches / reuses / retrains | Drift detections | Predictions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(results):
        lines.append(
            f"| {_md_cell(r.approach)} | {fmt(r.r2, '.4f')} | {fmt(r.baseline, '.4f')} | {fmt(r.skill, '+.3f')} | {fmt(r.mae, f'.{mae_d}f')}"
            f" | {totals[i]} ({inference[i]} + {adaptation[i]}; {retraining[i]})"
            f" | {fmt(r.latency_ms_mean, f'.{lat_d}f')} / {fmt(r.latency_ms_p95, f'.{lat_d}f')}"
            f" | {r.switches} / {r.reuses} / {r.retrains} | {r.drift_detections} | {r.predictions} |")
    lines += ["", "## Claims", ""]
    found = claims(results)
    if found:
        lines += [f"- {'✓' if c.holds else '✗'} {_md_cell(c.name)}: {c.detail}" for c in found]
    else:
        lines.append("- none checked: the claims compare harmone with switch and single-lstm+retrain, "
                     "which were not all run")
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{title}]({name})" for title, name in plots]
    return "\n".join(lines) + "\n"
