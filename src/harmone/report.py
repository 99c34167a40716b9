"""Tables and plots for an experiment that runs the approaches side by side.

Pure rendering: the experiment driver hands over one ``ApproachResult`` per approach and
this module turns them into ``results.csv`` / ``results.json`` / ``results.md`` /
``run.json`` and three PNG plots. matplotlib is imported only inside the plotting
functions (through its object-oriented API, no pyplot state), so importing this module
stays cheap for the CLI and the driver.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harmone import atomic
from harmone.errors import HarmonEError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Predictions per rolling-R² window; the drift loop compares windows of this size.
ROLLING_WINDOW = 1200
#: Claim 2: HarmonE spends at most this share of single-lstm+retrain's energy per prediction.
CLAIM_ENERGY_RATIO_MAX = 0.5
#: Claim 3: HarmonE keeps at least this share of single-lstm+retrain's R².
CLAIM_R2_RATIO_MIN = 0.95
#: Points drawn per line at most; rolling R² is smooth, so thinning hides nothing visible.
_MAX_LINE_POINTS = 4000
_DPI = 120

LOOPS = ("switch", "drift", "retrain")
ACTIONS = ("none", "switch", "reuse", "retrain")
METER_KINDS = ("measured", "estimated")

#: Fixed colours, so an approach looks the same in every plot of every run.
_APPROACH_COLOURS = {
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
_MODEL_COLOURS = {"lstm": "#9467bd", "svm": "#2ca02c", "linear": "#8c564b"}
_SPARE_COLOURS = ("#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
_ACTION_MARKERS = {"switch": "^", "reuse": "o", "retrain": "s"}


class ReportError(HarmonEError, ValueError):
    """Results that cannot be reported (no predictions, mismatched series, bad values)."""


@dataclass(frozen=True)
class EventMark:
    """One adaptation (or loop run) of an approach, placed on the simulated time axis."""

    time_s: float
    loop: str
    action: str
    model: str | None
    version: int | None
    drift_detected: bool

    def __post_init__(self) -> None:
        if self.loop not in LOOPS:
            raise ReportError(f"event at {self.time_s} s: loop {self.loop!r} is not one of {', '.join(LOOPS)}")
        if self.action not in ACTIONS:
            raise ReportError(f"event at {self.time_s} s: action {self.action!r} is not one of {', '.join(ACTIONS)}")


_SCALARS = ("r2", "mae", "inference_energy_uj", "adaptation_energy_uj", "retraining_energy_uj",
            "latency_ms_mean", "latency_ms_p95", "wall_time_s")
_COUNTS = ("predictions", "switches", "reuses", "retrains", "drift_detections")


# eq=False: the per-prediction arrays make field-wise equality ambiguous (and unhashable).
@dataclass(frozen=True, eq=False)
class ApproachResult:
    """What one approach did over one run: totals, counts and the per-prediction series."""

    approach: str
    predictions: int
    r2: float
    mae: float
    inference_energy_uj: float
    adaptation_energy_uj: float
    latency_ms_mean: float
    latency_ms_p95: float
    switches: int
    reuses: int
    retrains: int
    drift_detections: int
    meter_kind: str
    meter_source: str
    wall_time_s: float
    time_s: np.ndarray
    true_value: np.ndarray
    predicted_value: np.ndarray
    model: np.ndarray
    events: tuple[EventMark, ...] = field(default=())
    #: The part of ``adaptation_energy_uj`` spent retraining.
    retraining_energy_uj: float = 0.0

    def __post_init__(self) -> None:
        where = f"approach {self.approach!r}"
        for name in _COUNTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ReportError(f"{where}: {name} must be a count >= 0, got {value!r}")
        for name in _SCALARS:
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
                raise ReportError(f"{where}: {name} must be a finite number, got {value!r}")
        if not (0.0 <= self.retraining_energy_uj <= self.adaptation_energy_uj * (1 + 1e-9)):
            raise ReportError(f"{where}: retraining_energy_uj must be between 0 and adaptation_energy_uj "
                              f"({self.adaptation_energy_uj!r}), got {self.retraining_energy_uj!r}")
        if self.meter_kind not in METER_KINDS:
            raise ReportError(f"{where}: meter_kind {self.meter_kind!r} is not one of {', '.join(METER_KINDS)}")
        # Own read-only copies: a frozen result must not change when the caller's arrays do.
        for name, dtype in (("time_s", np.float64), ("true_value", np.float64),
                            ("predicted_value", np.float64), ("model", np.str_)):
            array = np.array(getattr(self, name), dtype=dtype).reshape(-1)
            if array.size != self.predictions:
                raise ReportError(f"{where}: {name} has {array.size} values but predictions = {self.predictions}")
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        if self.predictions > 1 and np.any(np.diff(self.time_s) < 0):
            raise ReportError(f"{where}: time_s must not decrease")
        object.__setattr__(self, "events", tuple(self.events))

    def _per_prediction_mj(self, energy_uj: float) -> float:
        if self.predictions == 0:
            raise ReportError(f"approach {self.approach!r} made zero predictions: "
                              "energy per prediction is undefined")
        return energy_uj / self.predictions / 1000.0

    @property
    def energy_mj_per_prediction(self) -> float:
        """Inference plus adaptation, mJ: adapting is paid for by the predictions it serves."""
        return self._per_prediction_mj(self.inference_energy_uj + self.adaptation_energy_uj)

    @property
    def inference_energy_mj_per_prediction(self) -> float:
        return self._per_prediction_mj(self.inference_energy_uj)

    @property
    def adaptation_energy_mj_per_prediction(self) -> float:
        return self._per_prediction_mj(self.adaptation_energy_uj)

    @property
    def retraining_energy_mj_per_prediction(self) -> float:
        return self._per_prediction_mj(self.retraining_energy_uj)


@dataclass(frozen=True)
class Claim:
    """A published claim checked on this run's numbers."""

    name: str
    holds: bool
    detail: str


# ---------------------------------------------------------------------------------------------
# Tables


def _checked(results: Sequence[ApproachResult]) -> list[ApproachResult]:
    results = list(results)
    if not results:
        raise ReportError("no approach results to report")
    seen: set[str] = set()
    for result in results:
        if result.approach in seen:
            raise ReportError(f"approach {result.approach!r} appears twice in the results")
        seen.add(result.approach)
        if result.predictions == 0:
            raise ReportError(f"approach {result.approach!r} made zero predictions: nothing to report")
    return results


def results_rows(results: Sequence[ApproachResult], *, seed: int, meter: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per approach (scalars only), the shape of results.csv and results.json."""
    resolution = meter.get("resolution_uj")
    rows = []
    for r in _checked(results):
        rows.append({
            "approach": r.approach,
            "r2": float(r.r2),
            "mae": float(r.mae),
            "energy_mj_per_prediction": r.energy_mj_per_prediction,
            "inference_energy_mj_per_prediction": r.inference_energy_mj_per_prediction,
            "adaptation_energy_mj_per_prediction": r.adaptation_energy_mj_per_prediction,
            "retraining_energy_mj_per_prediction": r.retraining_energy_mj_per_prediction,
            "inference_energy_uj": float(r.inference_energy_uj),
            "adaptation_energy_uj": float(r.adaptation_energy_uj),
            "retraining_energy_uj": float(r.retraining_energy_uj),
            "latency_ms_mean": float(r.latency_ms_mean),
            "latency_ms_p95": float(r.latency_ms_p95),
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


def _decimals(values: Sequence[float], significant: int = 4) -> int:
    """Decimals that show the largest value of a column with ``significant`` digits."""
    largest = max((abs(v) for v in values), default=0.0)
    if largest == 0.0:
        return 2
    return int(min(6, max(0, significant - 1 - math.floor(math.log10(largest)))))


def _energy_columns(results: Sequence[ApproachResult]) -> tuple[list[str], ...]:
    """Total, inference, adaptation and retraining per prediction, with the totals' decimals."""
    columns = [[r.energy_mj_per_prediction for r in results],
               [r.inference_energy_mj_per_prediction for r in results],
               [r.adaptation_energy_mj_per_prediction for r in results],
               [r.retraining_energy_mj_per_prediction for r in results]]
    d = _decimals(columns[0])
    return tuple([f"{v:.{d}f}" for v in column] for column in columns)


def _meter_sentence(results: Sequence[ApproachResult], meter: Mapping[str, Any] | None = None) -> str:
    pairs = {(r.meter_kind, r.meter_source) for r in results}
    if len(pairs) == 1:
        kind, source = next(iter(pairs))
        sentence = f"Energies are {kind} by {source}"
        resolution = (meter or {}).get("resolution_uj")
        if resolution:
            sentence += f" (resolution {float(resolution):g} µJ)"
        if kind == "estimated":
            sentence += "; they are a model of power, not a hardware measurement"
        return sentence + "."
    parts = "; ".join(f"{r.approach} {r.meter_kind} by {r.meter_source}" for r in results)
    return f"Energies come from different meters and are not directly comparable: {parts}."


def meter_label(results: Sequence[ApproachResult]) -> str:
    """'measured (rapl:package-0)', 'estimated (cpu-time-estimate)' or 'mixed meters'."""
    pairs = {(r.meter_kind, r.meter_source) for r in results}
    if len(pairs) == 1:
        kind, source = next(iter(pairs))
        return f"{kind} ({source})"
    kinds = {kind for kind, _ in pairs}
    return f"{next(iter(kinds))} (several meters)" if len(kinds) == 1 else "mixed: measured and estimated"


def format_table(results: Sequence[ApproachResult]) -> str:
    """A fixed-width table for the terminal, followed by the meter line."""
    results = _checked(results)
    totals, inference, adaptation, retraining = _energy_columns(results)
    header = ["approach", "R²", "MAE", "mJ/pred", "infer", "adapt", "retraining", "lat ms", "p95 ms",
              "switch", "reuse", "retrain", "drift", "predictions"]
    mae_d = _decimals([r.mae for r in results])
    lat_d = _decimals([r.latency_ms_p95 for r in results], significant=3)
    body = [[r.approach, f"{r.r2:.4f}", f"{r.mae:.{mae_d}f}", totals[i], inference[i], adaptation[i],
             retraining[i], f"{r.latency_ms_mean:.{lat_d}f}", f"{r.latency_ms_p95:.{lat_d}f}", str(r.switches),
             str(r.reuses), str(r.retrains), str(r.drift_detections), str(r.predictions)]
            for i, r in enumerate(results)]
    widths = [max(len(row[c]) for row in [header, *body]) for c in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(cell.rjust(w) for cell, w in zip(cells[1:], widths[1:]))])

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *(line(row) for row in body), rule, _meter_sentence(results)])


def _by_name(results: Sequence[ApproachResult]) -> dict[str, ApproachResult]:
    return {r.approach: r for r in results}


def claims(results: Sequence[ApproachResult]) -> list[Claim]:
    """The paper's claims, each checked only when the approaches it compares were run."""
    by_name = _by_name(_checked(results))
    harmone = by_name.get("harmone")
    if harmone is None:
        return []
    found: list[Claim] = []
    h_energy = harmone.energy_mj_per_prediction
    switch = by_name.get("switch")
    if switch is not None:
        s_energy = switch.energy_mj_per_prediction
        holds = harmone.r2 > switch.r2 and h_energy < s_energy
        d = _decimals([h_energy, s_energy])
        found.append(Claim(
            "harmone beats switch on both R² and energy per prediction", holds,
            f"R² {harmone.r2:.4f} vs {switch.r2:.4f}; {h_energy:.{d}f} vs {s_energy:.{d}f} mJ/prediction, "
            f"of which adaptation {harmone.adaptation_energy_mj_per_prediction:.{d}f} (retraining "
            f"{harmone.retraining_energy_mj_per_prediction:.{d}f}) vs {switch.adaptation_energy_mj_per_prediction:.{d}f}"))
    reference = by_name.get("single-lstm+retrain")
    if reference is not None:
        r_energy = reference.energy_mj_per_prediction
        ratio = f"{h_energy / r_energy:.3f}" if r_energy > 0 else "undefined"
        found.append(Claim(
            f"harmone's energy per prediction is at most {CLAIM_ENERGY_RATIO_MAX:g} x single-lstm+retrain's",
            h_energy <= CLAIM_ENERGY_RATIO_MAX * r_energy,
            f"{_mj(h_energy)} vs {_mj(r_energy)} mJ/prediction, ratio {ratio}"))
        r2_ratio = f"{harmone.r2 / reference.r2:.4f}" if reference.r2 > 0 else "undefined"
        found.append(Claim(
            f"harmone's R² is at least {CLAIM_R2_RATIO_MIN:g} x single-lstm+retrain's",
            harmone.r2 >= CLAIM_R2_RATIO_MIN * reference.r2,
            f"R² {harmone.r2:.4f} vs {reference.r2:.4f}, ratio {r2_ratio}"))
    return found


def _mj(value: float) -> str:
    return f"{value:.{_decimals([value])}f}"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def results_markdown(results: Sequence[ApproachResult], *, seed: int, meter: Mapping[str, Any],
                     plots: Sequence[tuple[str, str]] = ()) -> str:
    """The human-facing summary: table, meter line, claims, and links to the plots."""
    results = _checked(results)
    totals, inference, adaptation, retraining = _energy_columns(results)
    lat_d = _decimals([r.latency_ms_p95 for r in results], significant=3)
    mae_d = _decimals([r.mae for r in results])
    lines = [
        "# HarmonE experiment results", "",
        f"Seed {seed}, {len(results)} approaches. {_meter_sentence(results, meter)}", "",
        "| Approach | R² | MAE | Energy mJ/prediction (inference + adaptation; of it retraining) "
        "| Latency ms mean / p95 "
        "| Switches / reuses / retrains | Drift detections | Predictions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(results):
        lines.append(
            f"| {_md_cell(r.approach)} | {r.r2:.4f} | {r.mae:.{mae_d}f}"
            f" | {totals[i]} ({inference[i]} + {adaptation[i]}; {retraining[i]})"
            f" | {r.latency_ms_mean:.{lat_d}f} / {r.latency_ms_p95:.{lat_d}f}"
            f" | {r.switches} / {r.reuses} / {r.retrains} | {r.drift_detections} | {r.predictions} |")
    lines += ["", "## Claims", ""]
    checked = claims(results)
    if checked:
        lines += [f"- {'✓' if c.holds else '✗'} {_md_cell(c.name)}: {c.detail}" for c in checked]
    else:
        lines.append("- none checked: the claims compare harmone with switch and single-lstm+retrain, "
                     "which were not all run")
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{title}]({name})" for title, name in plots]
    return "\n".join(lines) + "\n"


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


def write_results(results: Sequence[ApproachResult], out_dir: Path, *, seed: int,
                  meter: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write tables, run info and plots into ``out_dir``, each file replaced atomically.

    Returns the written paths by role: csv, json, md, run, rolling_r2, energy_vs_r2 and,
    when harmone was run, harmone_timeline.
    """
    results = _checked(results)
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
    harmone = _by_name(results).get("harmone")
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


# ---------------------------------------------------------------------------------------------
# Pure computations behind the plots


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the (energy, R²) points no other point beats, by increasing energy.

    A point is dominated when another has energy <= and R² >= with at least one strictly
    better; identical points do not dominate each other, so both stay on the front.
    """
    if len(points) == 0:
        return []
    array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    energy, r2 = array[:, 0][:, None], array[:, 1][:, None]
    no_worse = (energy.T <= energy) & (r2.T >= r2)       # [i, j]: j is no worse than i
    better = (energy.T < energy) | (r2.T > r2)
    dominated = np.any(no_worse & better, axis=1)
    front = np.flatnonzero(~dominated)
    order = np.lexsort((-array[front, 1], array[front, 0]))
    return [int(i) for i in front[order]]


def effective_window(predictions: int, window: int = ROLLING_WINDOW) -> int:
    """The rolling window to use: ``window``, or a quarter of a run shorter than it."""
    if window < 1:
        raise ReportError(f"rolling window must be >= 1, got {window}")
    if predictions >= window:
        return window
    return max(1, min(predictions, max(2, predictions // 4)))


def rolling_r2(true_value: np.ndarray, predicted_value: np.ndarray, window: int) -> np.ndarray:
    """R² over each run of ``window`` consecutive predictions; entry i ends at prediction i + window - 1.

    Cumulative sums make it O(n) whatever the window. A window whose true values are constant
    scores 1.0 when every prediction is exact, else 0.0 (the convention of harmone.metrics).
    """
    y = np.asarray(true_value, dtype=np.float64).reshape(-1)
    p = np.asarray(predicted_value, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise ReportError(f"true_value has {y.size} values but predicted_value has {p.size}")
    if not 1 <= window <= y.size:
        raise ReportError(f"rolling window {window} must be between 1 and the {y.size} predictions")
    y_c = y - y.mean()           # centring keeps the cumulative sums small, hence precise
    residual = (y_c - (p - y.mean())) ** 2
    sums = [np.concatenate(([0.0], np.cumsum(a))) for a in (y_c, y_c ** 2, residual)]
    s1, s2, sr = (s[window:] - s[:-window] for s in sums)
    ss_tot = s2 - s1 * s1 / window
    # Differences of cumulative sums are exact only to the rounding of the sums themselves.
    eps = np.finfo(np.float64).eps
    flat = ss_tot <= 64 * eps * max(sums[1][-1], 1e-300)
    exact = sr <= 64 * eps * max(sums[2][-1], 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - sr / np.where(flat, 1.0, ss_tot)
    return np.where(flat, np.where(exact, 1.0, 0.0), r2)


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


def _time_axis(results: Sequence[ApproachResult]) -> _TimeAxis:
    first_s = min(float(r.time_s[0]) for r in results)
    last_s = max(float(r.time_s[-1]) for r in results)
    origin_s = 0.0 if 0.0 <= first_s <= 0.05 * last_s else first_s
    unit_s, unit = _time_unit(last_s - origin_s)
    label = f"simulated time ({unit})" if origin_s == 0.0 else f"{unit} since the first prediction"
    return _TimeAxis(origin_s, max(last_s, origin_s + 1e-9), unit_s, label)


def _thin(n: int, limit: int = _MAX_LINE_POINTS) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).astype(np.int64))


def _approach_colour(name: str, index: int) -> str:
    return _APPROACH_COLOURS.get(name, _SPARE_COLOURS[index % len(_SPARE_COLOURS)])


def _model_colour(kind: str, index: int) -> str:
    return _MODEL_COLOURS.get(kind, _SPARE_COLOURS[index % len(_SPARE_COLOURS)])


def _linestyle(name: str) -> str:
    return "--" if name.endswith("+retrain") else "-"


def _adaptations(result: ApproachResult) -> list[EventMark]:
    return [e for e in result.events if e.action in _ACTION_MARKERS]


def _rolling_series(result: ApproachResult, window: int) -> tuple[np.ndarray, np.ndarray, int]:
    w = effective_window(result.predictions, window)
    values = rolling_r2(result.true_value, result.predicted_value, w)
    return result.time_s[w - 1:], values, w


# ---------------------------------------------------------------------------------------------
# Plots


def _new_figure(width_in: float, height_in: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    atomic.write_bytes(Path(path), buffer.getvalue())


def _r2_limits(curves: Sequence[np.ndarray]) -> tuple[float, float, bool]:
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


def _action_legend_handles(actions: set[str]) -> list[Any]:
    """Legend entries for the adaptation markers that actually appear."""
    from matplotlib.lines import Line2D

    return [Line2D([], [], linestyle="none", marker=marker, markersize=8, markerfacecolor="white",
                   markeredgecolor="black", label=action)
            for action, marker in _ACTION_MARKERS.items() if action in actions]


def plot_rolling_r2(results: Sequence[ApproachResult], path: Path, *, window: int = ROLLING_WINDOW) -> Path:
    """Rolling R² per approach over simulated time, adaptations marked on each line."""
    results = _checked(results)
    series = [_rolling_series(r, window) for r in results]
    x = _time_axis(results)
    bottom, top, clipped = _r2_limits([values for _, values, _ in series])
    windows = sorted({w for _, _, w in series})
    actions = {e.action for r in results for e in _adaptations(r)}

    figure = _new_figure(13.0, 6.0)
    ax = figure.add_subplot()
    # HarmonE is drawn last, so it sits on top of the baselines.
    order = sorted(range(len(results)), key=lambda i: results[i].approach == "harmone")
    line_of: dict[int, Any] = {}
    for i in order:
        result, (times, values, w) = results[i], series[i]
        colour = _approach_colour(result.approach, i)
        is_harmone = result.approach == "harmone"
        keep = _thin(values.size)
        label = result.approach if len(windows) == 1 else f"{result.approach} (window {w})"
        (line_of[i],) = ax.plot(x(times[keep]), values[keep], color=colour, label=label,
                                linestyle=_linestyle(result.approach), linewidth=2.4 if is_harmone else 1.3,
                                alpha=1.0 if is_harmone else 0.85, zorder=3 if is_harmone else 2)
        for action, marker in _ACTION_MARKERS.items():
            at = np.array([e.time_s for e in _adaptations(result) if e.action == action])
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
        figure.legend(handles=_action_legend_handles(actions), loc="outside right lower", title="adaptation",
                      frameon=False)
    _save(figure, path)
    return Path(path)


def _model_runs(models: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) index of each run of consecutive predictions by one model."""
    change = np.flatnonzero(models[1:] != models[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [models.size]))
    return starts, ends


def _ordered_kinds(models: np.ndarray, events: Sequence[EventMark]) -> list[str]:
    present = set(models.tolist()) | {e.model for e in events if e.model}
    known = [k for k in _MODEL_COLOURS if k in present]
    return known + sorted(present - set(known))


def plot_harmone_timeline(result: ApproachResult, path: Path, *, window: int = ROLLING_WINDOW) -> Path:
    """Which model served each prediction, drift detections, and the reuse/retrain decisions."""
    if result.predictions == 0:
        raise ReportError(f"approach {result.approach!r} made zero predictions: nothing to plot")
    times = result.time_s
    x = _time_axis([result])
    step_s = float(np.median(np.diff(times))) if times.size > 1 else 0.0
    kinds = _ordered_kinds(result.model, result.events)
    row_of = {kind: len(kinds) - 1 - k for k, kind in enumerate(kinds)}   # first kind on top

    figure = _new_figure(13.0, 6.2)
    band, curve = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.0, 1.3]})
    starts, ends = _model_runs(result.model)
    for k, kind in enumerate(kinds):
        mine = result.model[starts] == kind
        left = times[starts[mine]]
        right = np.where(ends[mine] < times.size, times[np.minimum(ends[mine], times.size - 1)],
                         times[-1] + step_s)
        spans = [(float(x(a)), max(b - a, step_s) / x.unit_s) for a, b in zip(left, right)]
        band.broken_barh(spans, (row_of[kind] - 0.32, 0.64), facecolors=_model_colour(kind, k),
                         alpha=0.8, label=f"serving {kind}")
    band.set_yticks([row_of[k] for k in kinds], labels=kinds)
    band.set_ylim(-0.7, len(kinds) - 0.3)
    band.set_ylabel("active model")

    drift_times = [e.time_s for e in result.events if e.drift_detected]
    for axis in (band, curve):
        for t in drift_times:
            axis.axvline(float(x(t)), color="#444444", linestyle=":", linewidth=1.1, zorder=1)

    def serving_at(t: float) -> str:
        return str(result.model[max(int(np.searchsorted(times, t, side="right")) - 1, 0)])

    for n, event in enumerate(_adaptations(result)):
        kind = event.model or serving_at(event.time_s)
        y = row_of.get(kind, 0)
        marker = _ACTION_MARKERS[event.action]
        band.scatter([float(x(event.time_s))], [y], marker=marker, s=70 if event.action != "switch" else 40,
                     facecolor="white", edgecolor="black", linewidth=1.2, zorder=5)
        if event.action in ("reuse", "retrain") and event.version is not None:
            offset = 11 if n % 2 == 0 else -17
            band.annotate(f"v{event.version}", (float(x(event.time_s)), y), xytext=(0, offset),
                          textcoords="offset points", ha="center", fontsize=9, zorder=6,
                          bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
                                "alpha": 0.8})

    roll_times, values, w = _rolling_series(result, window)
    keep = _thin(values.size)
    bottom, top, clipped = _r2_limits([values])
    curve.plot(x(roll_times[keep]), values[keep], color=_approach_colour(result.approach, 0), linewidth=1.6)
    curve.set_ylim(bottom, top)
    curve.set_ylabel(f"rolling R² ({w} predictions)" + (", dips cut" if clipped else ""))
    curve.set_xlabel(x.label)
    curve.set_xlim(0.0, float(x(x.end_s + step_s)))
    for axis in (band, curve):
        axis.grid(True, axis="x", alpha=0.3)
    curve.grid(True, axis="y", alpha=0.3)

    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=_model_colour(k, i), alpha=0.8, label=k) for i, k in enumerate(kinds)]
    if drift_times:
        handles += [Line2D([], [], color="#444444", linestyle=":", label="drift detected")]
    handles += _action_legend_handles({e.action for e in _adaptations(result)})
    counts = ", ".join(_count(n, word) for n, word in ((result.switches, "switch"), (result.reuses, "reuse"),
                                                       (result.retrains, "retrain"),
                                                       (result.drift_detections, "drift detection")))
    band.set_title(f"{result.approach}: active model over time ({counts}); vN = model version")
    figure.legend(handles=handles, loc="outside right upper", frameon=False)
    _save(figure, path)
    return Path(path)


def _count(n: int, word: str) -> str:
    plural = word + ("es" if word.endswith("ch") else "s")
    return f"{n} {word if n == 1 else plural}"


def _boxes_overlap(a: Any, b: Any) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0.0) * max(height, 0.0)


def plot_energy_vs_r2(results: Sequence[ApproachResult], path: Path) -> Path:
    """Energy per prediction against R², the Pareto front (less energy, more R²) joined up."""
    from matplotlib.transforms import Bbox

    results = _checked(results)
    energy = np.array([r.energy_mj_per_prediction for r in results])
    r2 = np.array([float(r.r2) for r in results])
    front = pareto_front(list(zip(energy.tolist(), r2.tolist())))

    figure = _new_figure(10.0, 6.5)
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
        ax.scatter([energy[i]], [r2[i]], s=120 if on_front else 70, color=_approach_colour(result.approach, i),
                   edgecolor="black", linewidth=1.8 if on_front else 0.6, zorder=3,
                   marker="D" if on_front else "o")
    ax.scatter([], [], s=100, marker="D", facecolor="white", edgecolor="black", linewidth=1.8,
               label="on the Pareto front")
    if len(front) < len(results):
        ax.scatter([], [], s=60, marker="o", facecolor="white", edgecolor="black", linewidth=0.6,
                   label="dominated")

    # Labels: try a few positions around each point; keep the first that hits nothing.
    renderer = figure.canvas.get_renderer()
    figure.draw_without_rendering()
    point_xy = ax.transData.transform(np.column_stack([energy, r2]))
    obstacles = [Bbox.from_extents(x - 7, y - 7, x + 7, y + 7) for x, y in point_xy]
    axes_box = ax.get_window_extent(renderer)
    candidates = [(9, 4, "left", "bottom"), (9, -4, "left", "top"), (-9, 4, "right", "bottom"),
                  (-9, -4, "right", "top"), (0, 10, "center", "bottom"), (0, -10, "center", "top"),
                  (16, 14, "left", "bottom"), (-16, -14, "right", "top"), (16, -14, "left", "top"),
                  (-16, 14, "right", "bottom")]
    placed: list[Any] = []
    for i, result in enumerate(results):
        best: tuple[float, Any] | None = None
        for dx, dy, ha, va in candidates:
            text = ax.annotate(result.approach, (energy[i], r2[i]), xytext=(dx, dy), textcoords="offset points",
                               ha=ha, va=va, fontsize=9, zorder=4,
                               fontweight="bold" if result.approach == "harmone" else "normal",
                               bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none",
                                     "alpha": 0.75})
            box = text.get_window_extent(renderer).expanded(1.04, 1.1)
            cost = sum(_boxes_overlap(box, other) for other in placed)
            cost += sum(_boxes_overlap(box, other) for j, other in enumerate(obstacles) if j != i)
            inside = _boxes_overlap(box, axes_box)
            cost += 4.0 * (box.width * box.height - inside)
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

    ax.set_xlabel("energy per prediction, mJ (inference + adaptation)")
    ax.set_ylabel("R² over the whole run")
    ax.set_title(f"Energy per prediction vs R²; energies {meter_label(results)}")
    ax.text(0.01, 0.99, "better: up and to the left", transform=ax.transAxes, ha="left", va="top",
            fontsize=8, color="#555555")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=9, framealpha=0.9)
    _save(figure, path)
    return Path(path)
