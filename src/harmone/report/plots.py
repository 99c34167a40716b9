"""The rolling-R² plot of every approach and the timeline of HarmonE's decisions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harmone.report.curves import ROLLING_WINDOW
from harmone.report.plotting import (
    ACTION_MARKERS,
    MODEL_COLOURS,
    action_legend_handles,
    adaptations,
    approach_colour,
    linestyle,
    model_colour,
    new_figure,
    r2_limits,
    rolling_series,
    save,
    thin,
    time_axis,
)
from harmone.report.results import EventMark, ReportError, RunResult, with_series


def plot_rolling_r2(results: Sequence[RunResult], path: Path, *, window: int = ROLLING_WINDOW) -> Path:
    """Rolling R² per approach over simulated time, adaptations marked on each line."""
    results = with_series(results)
    series = [rolling_series(r, window) for r in results]
    x = time_axis(results)
    bottom, top, clipped = r2_limits([values for _, values, _ in series])
    windows = sorted({w for _, _, w in series})
    actions = {e.action for r in results for e in adaptations(r)}

    figure = new_figure(13.0, 6.0)
    ax = figure.add_subplot()
    # HarmonE is drawn last, so it sits on top of the baselines.
    order = sorted(range(len(results)), key=lambda i: results[i].approach == "harmone")
    line_of: dict[int, Any] = {}
    for i in order:
        result, (times, values, w) = results[i], series[i]
        colour = approach_colour(result.approach, i)
        is_harmone = result.approach == "harmone"
        keep = thin(values.size)
        label = result.approach if len(windows) == 1 else f"{result.approach} (window {w})"
        (line_of[i],) = ax.plot(x(times[keep]), values[keep], color=colour, label=label,
                                linestyle=linestyle(result.approach), linewidth=2.4 if is_harmone else 1.3,
                                alpha=1.0 if is_harmone else 0.85, zorder=3 if is_harmone else 2)
        for action, marker in ACTION_MARKERS.items():
            at = np.array([e.time_s for e in adaptations(result) if e.action == action])
            if at.size == 0:
                continue
            y = np.clip(np.interp(at, times, values), bottom, top)
            ax.scatter(x(at), y, marker=marker, s=46, facecolor=colour, edgecolor="black",
                       linewidth=0.8, zorder=4)
    ax.set_ylim(bottom, top)
    ax.set_xlim(0.0, float(x(x.end_s)))
    ax.set_xlabel(x.label)
    ylabel = "rolling R²" + (" (dips below the axis are cut)" if clipped else "")
    ax.set_ylabel(ylabel)
    over = f"the last {windows[0]} predictions" if len(windows) == 1 else "a sliding window"
    ax.set_title(f"Rolling R² over {over}, per approach")
    ax.grid(True, alpha=0.3)
    figure.legend(handles=[line_of[i] for i in range(len(results))], loc="outside right upper",
                  title="approach", frameon=False)
    if actions:
        figure.legend(handles=action_legend_handles(actions), loc="outside right lower", title="adaptation",
                      frameon=False)
    save(figure, path)
    return Path(path)


def _model_runs(models: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) index of each run of consecutive predictions by one model."""
    change = np.flatnonzero(models[1:] != models[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [models.size]))
    return starts, ends


def _ordered_kinds(models: np.ndarray, events: Sequence[EventMark]) -> list[str]:
    present = set(models.tolist()) | {e.model for e in events if e.model}
    known = [k for k in MODEL_COLOURS if k in present]
    return known + sorted(present - set(known))


def plot_harmone_timeline(result: RunResult, path: Path, *, window: int = ROLLING_WINDOW) -> Path:
    """Which model served each prediction, drift detections, and the reuse/retrain decisions."""
    if result.predictions == 0:
        raise ReportError(f"approach {result.approach!r} made zero predictions: nothing to plot")
    (result,) = with_series([result])
    times = result.time_s
    x = time_axis([result])
    step_s = float(np.median(np.diff(times))) if times.size > 1 else 0.0
    kinds = _ordered_kinds(result.model, result.marks)
    row_of = {kind: len(kinds) - 1 - k for k, kind in enumerate(kinds)}   # first kind on top

    figure = new_figure(13.0, 6.2)
    band, curve = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.0, 1.3]})
    _draw_serving_bands(band, result, x, kinds, row_of, step_s)
    band.set_yticks([row_of[k] for k in kinds], labels=kinds)
    band.set_ylim(-0.7, len(kinds) - 0.3)
    band.set_ylabel("active model")

    drift_times = [e.time_s for e in result.marks if e.drift_detected]
    for axis in (band, curve):
        for t in drift_times:
            axis.axvline(float(x(t)), color="#444444", linestyle=":", linewidth=1.1, zorder=1)

    _mark_decisions(band, result, x, row_of)

    roll_times, values, w = rolling_series(result, window)
    keep = thin(values.size)
    bottom, top, clipped = r2_limits([values])
    curve.plot(x(roll_times[keep]), values[keep], color=approach_colour(result.approach, 0), linewidth=1.6)
    curve.set_ylim(bottom, top)
    curve.set_ylabel(f"rolling R² ({w} predictions)" + (", dips cut" if clipped else ""))
    curve.set_xlabel(x.label)
    curve.set_xlim(0.0, float(x(x.end_s + step_s)))
    for axis in (band, curve):
        axis.grid(True, axis="x", alpha=0.3)
    curve.grid(True, axis="y", alpha=0.3)

    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=model_colour(k, i), alpha=0.8, label=k) for i, k in enumerate(kinds)]
    if drift_times:
        handles += [Line2D([], [], color="#444444", linestyle=":", label="drift detected")]
    handles += action_legend_handles({e.action for e in adaptations(result)})
    counts = ", ".join(_count(n, word) for n, word in ((result.switches, "switch"), (result.reuses, "reuse"),
                                                       (result.retrains, "retrain"),
                                                       (result.drift_detections, "drift detection")))
    band.set_title(f"{result.approach}: active model over time ({counts}); vN = model version")
    figure.legend(handles=handles, loc="outside right upper", frameon=False)
    save(figure, path)
    return Path(path)


def _draw_serving_bands(band: Any, result: RunResult, x: Any, kinds: list[str], row_of: dict[str, int],
                        step_s: float) -> None:
    """One bar per stretch of consecutive predictions served by one model, on that model's row."""
    times = result.time_s
    starts, ends = _model_runs(result.model)
    for k, kind in enumerate(kinds):
        mine = result.model[starts] == kind
        left = times[starts[mine]]
        right = np.where(ends[mine] < times.size, times[np.minimum(ends[mine], times.size - 1)],
                         times[-1] + step_s)
        spans = [(float(x(a)), max(b - a, step_s) / x.unit_s) for a, b in zip(left, right)]
        band.broken_barh(spans, (row_of[kind] - 0.32, 0.64), facecolors=model_colour(kind, k),
                         alpha=0.8, label=f"serving {kind}")


def _mark_decisions(band: Any, result: RunResult, x: Any, row_of: dict[str, int]) -> None:
    """A marker per switch, reuse and retrain on the row of the model it chose, versions annotated."""
    times = result.time_s

    def serving_at(t: float) -> str:
        return str(result.model[max(int(np.searchsorted(times, t, side="right")) - 1, 0)])

    for n, event in enumerate(adaptations(result)):
        kind = event.model or serving_at(event.time_s)
        y = row_of.get(kind, 0)
        band.scatter([float(x(event.time_s))], [y], marker=ACTION_MARKERS[event.action],
                     s=70 if event.action != "switch" else 40, facecolor="white", edgecolor="black",
                     linewidth=1.2, zorder=5)
        if event.action in ("reuse", "retrain") and event.version is not None:
            offset = 11 if n % 2 == 0 else -17
            band.annotate(f"v{event.version}", (float(x(event.time_s)), y), xytext=(0, offset),
                          textcoords="offset points", ha="center", fontsize=9, zorder=6,
                          bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
                                "alpha": 0.8})


def _count(n: int, word: str) -> str:
    plural = word + ("es" if word.endswith("ch") else "s")
    return f"{n} {word if n == 1 else plural}"
