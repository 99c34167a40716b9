"""Energy per prediction against R², with the Pareto front joined up and labels kept apart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harmone.report.curves import pareto_front
from harmone.report.plotting import approach_colour, new_figure, save
from harmone.report.results import ReportError, RunResult, checked
from harmone.report.tables import meter_label


def _boxes_overlap(a: Any, b: Any) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0.0) * max(height, 0.0)


def plot_energy_vs_r2(results: Sequence[RunResult], path: Path) -> Path:
    """Energy per prediction against R², the Pareto front (less energy, more R²) joined up."""
    results = [r for r in checked(results) if r.r2 is not None]  # no R², no place on the plot
    if not results:
        raise ReportError("no approach has an R² to plot against energy")
    energy = np.array([r.energy_mj_per_prediction for r in results])
    r2 = np.array([float(r.r2) for r in results])
    front = pareto_front(list(zip(energy.tolist(), r2.tolist())))

    figure = new_figure(10.0, 6.5)
    ax = figure.add_subplot()
    e_span = float(energy.max()) or 1.0
    r_low, r_high = float(r2.min()), float(r2.max())
    r_pad = max((r_high - r_low) * 0.15, 0.01)
    x_low = 0.0 if energy.min() >= 0 else float(energy.min()) - 0.1 * e_span
    ax.set_xlim(x_low, float(energy.max()) + 0.22 * e_span)
    ax.set_ylim(r_low - r_pad, r_high + r_pad)
    if len(front) > 1:
        ax.plot(energy[front], r2[front], color="#555555", linestyle="--", linewidth=1.2, zorder=1,
                label="Pareto front")
    for i, result in enumerate(results):
        on_front = i in front
        ax.scatter([energy[i]], [r2[i]], s=120 if on_front else 70, color=approach_colour(result.approach, i),
                   edgecolor="black", linewidth=1.8 if on_front else 0.6, zorder=3,
                   marker="D" if on_front else "o")
    ax.scatter([], [], s=100, marker="D", facecolor="white", edgecolor="black", linewidth=1.8,
               label="on the Pareto front")
    if len(front) < len(results):
        ax.scatter([], [], s=60, marker="o", facecolor="white", edgecolor="black", linewidth=0.6,
                   label="dominated")

    _place_labels(figure, ax, [r.approach for r in results], energy, r2)

    ax.set_xlabel("energy per prediction, mJ (inference + adaptation)")
    ax.set_ylabel("R² over the whole run")
    ax.set_title(f"Energy per prediction vs R²; energies {meter_label(results)}")
    ax.text(0.01, 0.99, "better: up and to the left", transform=ax.transAxes, ha="left", va="top",
            fontsize=8, color="#555555")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=9, framealpha=0.9)
    save(figure, path)
    return Path(path)


#: Offsets (points) and alignments tried around a point for its label, in order of preference.
_LABEL_SPOTS = [(9, 4, "left", "bottom"), (9, -4, "left", "top"), (-9, 4, "right", "bottom"),
                (-9, -4, "right", "top"), (0, 10, "center", "bottom"), (0, -10, "center", "top"),
                (16, 14, "left", "bottom"), (-16, -14, "right", "top"), (16, -14, "left", "top"),
                (-16, 14, "right", "bottom")]


def _place_labels(figure: Any, ax: Any, names: Sequence[str], energy: np.ndarray, r2: np.ndarray) -> None:
    """Label each point at the spot that overlaps other labels, points and the frame least."""
    from matplotlib.transforms import Bbox

    renderer = figure.canvas.get_renderer()
    figure.draw_without_rendering()
    point_xy = ax.transData.transform(np.column_stack([energy, r2]))
    obstacles = [Bbox.from_extents(x - 7, y - 7, x + 7, y + 7) for x, y in point_xy]
    axes_box = ax.get_window_extent(renderer)
    placed: list[Any] = []
    for i, name in enumerate(names):
        best: tuple[float, Any] | None = None
        for dx, dy, ha, va in _LABEL_SPOTS:
            text = ax.annotate(name, (energy[i], r2[i]), xytext=(dx, dy), textcoords="offset points",
                               ha=ha, va=va, fontsize=9, zorder=4,
                               fontweight="bold" if name == "harmone" else "normal",
                               bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none",
                                     "alpha": 0.75})
            box = text.get_window_extent(renderer).expanded(1.04, 1.1)
            cost = sum(_boxes_overlap(box, other) for other in placed)
            cost += sum(_boxes_overlap(box, other) for j, other in enumerate(obstacles) if j != i)
            cost += 4.0 * (box.width * box.height - _boxes_overlap(box, axes_box))
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, text)
            else:
                text.remove()
            if cost == 0.0:
                break
        assert best is not None
        placed.append(best[1].get_window_extent(renderer).expanded(1.04, 1.1))
