"""Aggregates of a matrix (approaches x streams x seeds): intervals, pairs, fronts, regret.

Intervals are two-sided 95 % Student t-intervals of a mean over seeds (the seeds are
independent draws, the per-seed figures roughly symmetric); a figure over fewer than two
seeds has no interval. Paired differences are per seed (same stream, same seed, same
trained starting models), so the noise the two approaches share cancels.

Regret of an approach on a stream: the best mean R² of any approach whose mean energy per
prediction is no higher than its own, minus its own mean R² (0 for an approach on the
Pareto front). Averaged and at its worst over the streams, it says what a fixed choice
gives up where it is not the right one; adapting pays when no fixed choice is good
everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from harmone.report.claims import CLAIM_ENERGY_RATIO_MAX, CLAIM_R2_RATIO_MIN

#: The figures a matrix compares, per cell and approach.
FIGURES = ("r2", "energy_uj_per_prediction", "skill")
#: Streams whose claims the README states (the built-in synthetic profiles).
BUILTIN_STREAMS = ("default", "alt", "pems")
REFERENCE = "single-lstm+retrain"
CONFIDENCE = 0.95
INTERVAL_METHOD = "two-sided 95% Student t-interval over seeds"


@dataclass(frozen=True)
class Interval:
    mean: float | None
    low: float | None
    high: float | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def t_interval(values: Sequence[float | None]) -> Interval:
    """Mean and 95 % t-interval of the finite values (None bounds below two values)."""
    from scipy.stats import t

    data = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    n = len(data)
    if n == 0:
        return Interval(None, None, None, 0)
    mean = float(data.mean())
    if n < 2:
        return Interval(mean, None, None, 1)
    half = float(t.ppf(0.5 + CONFIDENCE / 2, n - 1) * data.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n)


def cell_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per (stream, seed, approach)."""
    rows = []
    for record in records:
        cell = record["cell"]
        for approach, figures in record["approaches"].items():
            rows.append({"stream": cell["stream"], "seed": cell["seed"], "approach": approach,
                         **{key: figures.get(key) for key in (*FIGURES, "switches", "reuses", "retrains",
                                                              "drift_detections")}})
    return rows


def _index(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], dict[int, Mapping[str, Any]]]:
    table: dict[tuple[str, str], dict[int, Mapping[str, Any]]] = {}
    for row in rows:
        table.setdefault((row["stream"], row["approach"]), {})[row["seed"]] = row
    return table


def _ordered(rows: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    return list(dict.fromkeys(row[key] for row in rows))


def summary(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per stream and approach: mean and interval of each figure."""
    table = _index(rows)
    out = []
    for stream in _ordered(rows, "stream"):
        for approach in _ordered(rows, "approach"):
            seeds = table.get((stream, approach), {})
            if seeds:
                out.append({"stream": stream, "approach": approach, "seeds": len(seeds),
                            **{f: t_interval([r[f] for r in seeds.values()]).to_dict() for f in FIGURES}})
    return out


def _paired(a: Mapping[int, Mapping[str, Any]], b: Mapping[int, Mapping[str, Any]], figure: str) -> list[float]:
    return [a[s][figure] - b[s][figure] for s in sorted(set(a) & set(b))
            if a[s][figure] is not None and b[s][figure] is not None]


def paired(rows: Sequence[Mapping[str, Any]], subject: str = "harmone") -> list[dict[str, Any]]:
    """``subject`` minus every other approach, per stream, paired by seed; wins per figure.

    A win is a seed where the subject is better: higher R² or skill, lower energy.
    """
    table = _index(rows)
    out = []
    for stream in _ordered(rows, "stream"):
        mine = table.get((stream, subject))
        if not mine:
            continue
        for other in _ordered(rows, "approach"):
            theirs = table.get((stream, other))
            if other == subject or not theirs:
                continue
            entry: dict[str, Any] = {"stream": stream, "approach": other}
            for figure in FIGURES:
                diffs = _paired(mine, theirs, figure)
                better = [d < 0 if figure == "energy_uj_per_prediction" else d > 0 for d in diffs]
                entry[figure] = {**t_interval(diffs).to_dict(), "wins": int(sum(better)), "pairs": len(diffs)}
            out.append(entry)
    return out


def _means(summary_rows: Sequence[Mapping[str, Any]], stream: str) -> dict[str, tuple[float, float]]:
    return {row["approach"]: (row["energy_uj_per_prediction"]["mean"], row["r2"]["mean"])
            for row in summary_rows if row["stream"] == stream
            and row["energy_uj_per_prediction"]["mean"] is not None and row["r2"]["mean"] is not None}


def pareto(summary_rows: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Per stream, the approaches no other beats on both mean energy (lower) and mean R² (higher)."""
    fronts = {}
    for stream in _ordered(summary_rows, "stream"):
        means = _means(summary_rows, stream)
        fronts[stream] = sorted(
            (a for a, (e, r2) in means.items()
             if not any(e2 <= e and r2b >= r2 and (e2 < e or r2b > r2) for b, (e2, r2b) in means.items() if b != a)),
            key=lambda a: means[a][0])
    return fronts


def regret(summary_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per approach: R² regret per stream, its mean and its worst, sorted by mean regret."""
    per_stream: dict[str, dict[str, float]] = {}
    for stream in _ordered(summary_rows, "stream"):
        means = _means(summary_rows, stream)
        for approach, (energy, r2) in means.items():
            best = max(r2b for e2, r2b in means.values() if e2 <= energy)
            per_stream.setdefault(approach, {})[stream] = best - r2
    out = []
    for approach, streams in per_stream.items():
        values = list(streams.values())
        worst_stream = max(streams, key=lambda s: streams[s])
        out.append({"approach": approach, "mean_regret": float(np.mean(values)), "worst_regret": streams[worst_stream],
                    "worst_stream": worst_stream, "streams": len(values), "per_stream": streams})
    return sorted(out, key=lambda row: (row["mean_regret"], row["worst_regret"], row["approach"]))


def _ratios(rows: Sequence[Mapping[str, Any]], streams: Sequence[str], figure: str,
            subject: str, reference: str) -> list[float]:
    table = _index(rows)
    ratios = []
    for stream in streams:
        mine, theirs = table.get((stream, subject), {}), table.get((stream, reference), {})
        for seed in sorted(set(mine) & set(theirs)):
            a, b = mine[seed][figure], theirs[seed][figure]
            if a is not None and b is not None and b != 0:
                ratios.append(a / b)
    return ratios


def _verdict(interval: Interval, *, at_most: float | None = None, at_least: float | None = None) -> str:
    if interval.low is None or interval.high is None:
        return "undecided (fewer than two pairs)"
    if at_most is not None:
        return "holds" if interval.high <= at_most else "fails" if interval.low > at_most else "undecided"
    assert at_least is not None
    return "holds" if interval.low >= at_least else "fails" if interval.high < at_least else "undecided"


def claims(rows: Sequence[Mapping[str, Any]], streams: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """harmone against single-lstm+retrain: energy ratio (goal <= 0.5x) and R² ratio (goal >= 0.95x).

    Ratios are per (stream, seed) pair, harmone's figure over the reference's; the claim is
    decided on the t-interval of their mean, per built-in stream and over all of them.
    """
    present = _ordered(rows, "stream")
    streams = [s for s in (streams or BUILTIN_STREAMS) if s in present]
    groups = [(s, [s]) for s in streams] + ([("built-in streams", streams)] if len(streams) > 1 else [])
    out = []
    for label, members in groups:
        energy = t_interval(_ratios(rows, members, "energy_uj_per_prediction", "harmone", REFERENCE))
        r2 = t_interval(_ratios(rows, members, "r2", "harmone", REFERENCE))
        if energy.n == 0 and r2.n == 0:
            continue
        out.append({"streams": label,
                    "energy_ratio": {**energy.to_dict(), "goal": f"<= {CLAIM_ENERGY_RATIO_MAX}",
                                     "verdict": _verdict(energy, at_most=CLAIM_ENERGY_RATIO_MAX)},
                    "r2_ratio": {**r2.to_dict(), "goal": f">= {CLAIM_R2_RATIO_MIN}",
                                 "verdict": _verdict(r2, at_least=CLAIM_R2_RATIO_MIN)}})
    return out


def aggregate(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Everything the matrix report shows, as plain data (the JSON report)."""
    rows = cell_rows(records)
    table = summary(rows)
    meters = sorted({(r["meter"]["kind"], r["meter"]["source"], bool(r["meter"].get("modelled"))) for r in records})
    return {
        "interval": INTERVAL_METHOD,
        "meters": [{"kind": k, "source": s, "modelled": m} for k, s, m in meters],
        "cells": len(records),
        "streams": _ordered(rows, "stream"),
        "seeds": sorted({r["cell"]["seed"] for r in records}),
        "approaches": _ordered(rows, "approach"),
        "regret": regret(table),
        "claims": claims(rows),
        "paired": paired(rows),
        "pareto": pareto(table),
        "summary": table,
        "rows": rows,
    }
