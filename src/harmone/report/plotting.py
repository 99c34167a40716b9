"""What every plot shares: colours, markers, the time axis, figures without pyplot state.

matplotlib is imported only inside functions, so importing the report stays cheap.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harmone import atomic
from harmone.report.curves import effective_window, rolling_r2
from harmone.report.results import EventMark, RunResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Points drawn per line at most; rolling R² is smooth, so thinning hides nothing visible.
MAX_LINE_POINTS = 4000
DPI = 120

#: Fixed colours, so an approach looks the same in every plot of every run.
APPROACH_COLOURS = {
    "harmone": "#d62728",
    "switch": "#1f77b4",
    "switch+retrain": "#17becf",
    "single-lstm": "#9467bd",
    "single-lstm+retrain": "#e377c2",
    "single-svm": "#2ca02c",
    "single-svm+retrain": "#bcbd22",
    "single-linear": "#8c564b",
    "single-linear+retrain": "#ff7f0e",
}
MODEL_COLOURS = {"lstm": "#9467bd", "svm": "#2ca02c", "linear": "#8c564b"}
SPARE_COLOURS = ("#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
ACTION_MARKERS = {"switch": "^", "reuse": "o", "retrain": "s"}


def _time_unit(span_s: float) -> tuple[float, str]:
    return (3600.0, "hours") if span_s >= 2 * 3600 else (60.0, "minutes")


@dataclass(frozen=True)
class _TimeAxis:
    """Seconds to plot units: from 0 for a clock that starts there, else from the first prediction."""

    origin_s: float
    end_s: float
    unit_s: float
    label: str

    def __call__(self, time_s: Any) -> Any:
        return (np.asarray(time_s, dtype=np.float64) - self.origin_s) / self.unit_s


def time_axis(results: Sequence[RunResult]) -> _TimeAxis:
    first_s = min(float(r.time_s[0]) for r in results)
    last_s = max(float(r.time_s[-1]) for r in results)
    origin_s = 0.0 if 0.0 <= first_s <= 0.05 * last_s else first_s
    unit_s, unit = _time_unit(last_s - origin_s)
    label = f"simulated time ({unit})" if origin_s == 0.0 else f"{unit} since the first prediction"
    return _TimeAxis(origin_s, max(last_s, origin_s + 1e-9), unit_s, label)


def thin(n: int, limit: int = MAX_LINE_POINTS) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).astype(np.int64))


def approach_colour(name: str, index: int) -> str:
    return APPROACH_COLOURS.get(name, SPARE_COLOURS[index % len(SPARE_COLOURS)])


def model_colour(kind: str, index: int) -> str:
    return MODEL_COLOURS.get(kind, SPARE_COLOURS[index % len(SPARE_COLOURS)])


def linestyle(name: str) -> str:
    return "--" if name.endswith("+retrain") else "-"


def adaptations(result: RunResult) -> list[EventMark]:
    return [e for e in result.marks if e.action in ACTION_MARKERS]


def rolling_series(result: RunResult, window: int) -> tuple[np.ndarray, np.ndarray, int]:
    w = effective_window(result.predictions, window)
    values = rolling_r2(result.true_value, result.predicted_value, w)
    return result.time_s[w - 1:], values, w



def new_figure(width_in: float, height_in: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    atomic.write_bytes(Path(path), buffer.getvalue())


def r2_limits(curves: Sequence[np.ndarray]) -> tuple[float, float, bool]:
    """A y range that shows the bulk of the curves; deep dips are cut at -1 and flagged."""
    values = np.concatenate([c for c in curves if c.size]) if curves else np.zeros(0)
    if values.size == 0:
        return 0.0, 1.0, False
    low = float(np.min(values))
    top = min(1.02, float(np.max(values)) + 0.03)
    bottom = max(low - 0.03, -1.0)
    if top - bottom < 0.1:
        bottom = top - 0.1
    return bottom, top, low < bottom


def action_legend_handles(actions: set[str]) -> list[Any]:
    """Legend entries for the adaptation markers that actually appear."""
    from matplotlib.lines import Line2D

    return [Line2D([], [], linestyle="none", marker=marker, markersize=8, markerfacecolor="white",
                   markeredgecolor="black", label=action)
            for action, marker in ACTION_MARKERS.items() if action in actions]
