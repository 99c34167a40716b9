"""Experiment report: tables, claims, plots, on small seeded synthetic results."""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harmone.errors import HarmonEError
from harmone.knowledge import Event
from harmone.metrics import r2_score
from harmone.report import (
    EventMark,
    ReportError,
    RunResult,
    claims,
    effective_window,
    format_table,
    pareto_front,
    plot_energy_vs_r2,
    plot_harmone_timeline,
    plot_rolling_r2,
    results_rows,
    rolling_r2,
    write_results,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
METER = {"kind": "estimated", "source": "fake", "resolution_uj": 0.5}
REQUIRED_KEYS = {
    "approach", "r2", "mae", "energy_mj_per_prediction", "inference_energy_mj_per_prediction",
    "adaptation_energy_mj_per_prediction", "retraining_energy_mj_per_prediction", "latency_ms_mean",
    "latency_ms_p95", "switches", "reuses",
    "retrains", "drift_detections", "predictions", "meter_kind", "meter_source", "seed", "wall_time_s",
}
#: (R², mJ per prediction) close to the published comparison.
PUBLISHED = {
    "harmone": (0.8628, 20.62), "switch": (0.8445, 24.32), "switch+retrain": (0.8435, 25.32),
    "single-lstm": (0.9005, 32.91), "single-svm": (0.7897, 14.76), "single-linear": (0.7597, 12.12),
    "single-lstm+retrain": (0.9085, 45.35), "single-svm+retrain": (0.80, 16.0),
    "single-linear+retrain": (0.77, 13.5),
}


def make_result(name: str, *, n: int = 600, r2: float = 0.8, energy_mj: float = 10.0, seed: int = 0,
                events: tuple[Event, ...] = (), **changes: object) -> RunResult:
    """A run of ``n`` predictions every 0.15 s; 90 % of the energy is inference, 6 % retraining."""
    rng = np.random.default_rng(seed)
    time_s = np.arange(n) * 0.15
    true_value = 200 + 100 * np.sin(2 * np.pi * np.arange(n) / 288) + rng.normal(0, 10, n)
    predicted = true_value + rng.normal(0, 20, n)
    model = np.where(np.arange(n) < n // 2, "lstm", "svm") if not name.startswith("single") else \
        np.full(n, name.split("-")[1].split("+")[0])
    total_uj = energy_mj * 1000 * n
    fields: dict[str, object] = dict(
        approach=name, predictions=n, r2=r2, mae=16.0, inference_energy_uj=0.9 * total_uj,
        adaptation_energy_uj=0.1 * total_uj, retraining_energy_uj=0.06 * total_uj, latency_mean_s=0.3e-3, latency_p95_s=0.6e-3,
        switches=sum(e.action == "switch" for e in events), reuses=sum(e.action == "reuse" for e in events),
        retrains=sum(e.action == "retrain" for e in events),
        drift_detections=sum(bool(e.observed.get("drift_detected")) for e in events), meter_kind="estimated", meter_source="fake",
        wall_time_s=1.5, time_s=time_s, true_value=true_value, predicted_value=predicted, model=model,
        events=events)
    fields.update(changes)
    return RunResult(**fields)  # type: ignore[arg-type]


def harmone_events(n: int) -> tuple[Event, ...]:
    end_s = n * 0.15
    return (
        Event(0.5 * end_s, "switch", "switch", "svm", None),
        Event(0.6 * end_s, "drift", "retrain", "svm", 2, observed={"drift_detected": True}),
        Event(0.8 * end_s, "drift", "reuse", "svm", 1, observed={"drift_detected": True}),
        Event(0.9 * end_s, "switch", "none", None, None),
    )


def all_approaches(n: int = 600) -> list[RunResult]:
    results = []
    for k, (name, (r2, energy_mj)) in enumerate(PUBLISHED.items()):
        events = harmone_events(n) if name == "harmone" else ()   # the others have no events
        results.append(make_result(name, n=n, r2=r2, energy_mj=energy_mj, seed=k, events=events))
    return results


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[RunResult], dict[str, Path]]:
    results = all_approaches()
    out_dir = tmp_path_factory.mktemp("report")
    paths = write_results(results, out_dir, seed=7, meter=METER, extra={"stream": "synthetic", "preset": "quick"})
    return results, paths


def test_write_results_writes_every_file(written: tuple[list[RunResult], dict[str, Path]]) -> None:
    _, paths = written
    assert set(paths) == {"csv", "json", "md", "run", "rolling_r2", "energy_vs_r2", "harmone_timeline"}
    for key in ("rolling_r2", "energy_vs_r2", "harmone_timeline"):
        data = paths[key].read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, key
    assert not list(paths["csv"].parent.glob(".*.tmp"))


def test_results_json_is_a_list_of_rows_with_derived_energy(
        written: tuple[list[RunResult], dict[str, Path]]) -> None:
    results, paths = written
    rows = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert isinstance(rows, list) and [row["approach"] for row in rows] == list(PUBLISHED)
    for row, result in zip(rows, results):
        assert isinstance(row, dict) and REQUIRED_KEYS <= set(row)
        n = result.predictions
        assert row["energy_mj_per_prediction"] == pytest.approx(PUBLISHED[row["approach"]][1])
        assert row["energy_mj_per_prediction"] == pytest.approx(
            (result.inference_energy_uj + result.adaptation_energy_uj) / n / 1000)
        assert row["inference_energy_mj_per_prediction"] == pytest.approx(0.9 * row["energy_mj_per_prediction"])
        assert row["adaptation_energy_mj_per_prediction"] == pytest.approx(0.1 * row["energy_mj_per_prediction"])
        assert row["retraining_energy_mj_per_prediction"] == pytest.approx(0.06 * row["energy_mj_per_prediction"])
        assert row["seed"] == 7 and row["predictions"] == n and row["meter_kind"] == "estimated"
    harmone = rows[0]
    assert (harmone["switches"], harmone["reuses"], harmone["retrains"], harmone["drift_detections"]) == (1, 1, 1, 2)


def test_results_csv_and_run_json(written: tuple[list[RunResult], dict[str, Path]]) -> None:
    _, paths = written
    with paths["csv"].open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert REQUIRED_KEYS <= set(reader.fieldnames or ())
        rows = list(reader)
    assert [row["approach"] for row in rows] == list(PUBLISHED)
    assert float(rows[0]["energy_mj_per_prediction"]) == pytest.approx(20.62)
    run = json.loads(paths["run"].read_text(encoding="utf-8"))
    assert run["seed"] == 7 and run["meter"] == METER
    assert run["stream"] == "synthetic" and run["preset"] == "quick"
    assert run["approaches"] == list(PUBLISHED)


def test_results_markdown_names_the_meter_and_checks_claims(
        written: tuple[list[RunResult], dict[str, Path]]) -> None:
    _, paths = written
    text = paths["md"].read_text(encoding="utf-8")
    assert "Energies are estimated by fake" in text
    assert "| harmone | 0.8628 |" in text and "20.62 (18.56 + 2.06; 1.24)" in text
    # The published numbers: energy ratio 0.455 holds; R² ratio 0.9497 misses 0.95 narrowly.
    assert "✓ harmone beats switch" in text
    assert "✓ harmone's energy per prediction is at most 0.5" in text and "ratio 0.455" in text
    assert "✗ harmone's R² is at least 0.95" in text and "ratio 0.9497" in text
    assert "(harmone_timeline.png)" in text


def test_claims_hold_and_fail() -> None:
    good = [make_result("harmone", r2=0.88, energy_mj=20.0), make_result("switch", r2=0.85, energy_mj=24.0),
            make_result("single-lstm+retrain", r2=0.90, energy_mj=45.0)]
    assert [c.holds for c in claims(good)] == [True, True, True]
    bad = [make_result("harmone", r2=0.80, energy_mj=25.0), make_result("switch", r2=0.85, energy_mj=24.0),
           make_result("single-lstm+retrain", r2=0.90, energy_mj=45.0)]
    checked = claims(bad)
    assert [c.holds for c in checked] == [False, False, False]
    assert "0.8000 vs 0.8500" in checked[0].detail and "25.00 vs 24.00" in checked[0].detail
    # Better R² but more energy than switch: claim 1 needs both.
    mixed = [make_result("harmone", r2=0.90, energy_mj=30.0), make_result("switch", r2=0.85, energy_mj=24.0)]
    assert [c.holds for c in claims(mixed)] == [False]


def test_claims_skip_approaches_that_did_not_run() -> None:
    assert claims([make_result("switch"), make_result("single-lstm")]) == []
    only_reference = claims([make_result("harmone"), make_result("single-lstm+retrain")])
    assert len(only_reference) == 2 and all("single-lstm+retrain" in c.name for c in only_reference)


def test_format_table_is_fixed_width() -> None:
    results = all_approaches(n=300)
    text = format_table(results)
    lines = text.splitlines()
    table = lines[:-1]
    assert len({len(line) for line in table}) == 1
    assert [line.split()[0] for line in table[2:-1]] == list(PUBLISHED)
    assert lines[-1].startswith("Energies are estimated by fake")


def test_results_rows_have_no_arrays() -> None:
    rows = results_rows(all_approaches(n=300), seed=1, meter={})
    assert all(isinstance(v, (str, int, float, type(None))) for row in rows for v in row.values())


def test_pareto_front_on_a_hand_made_example() -> None:
    points = [
        (10.0, 0.70),   # 0 cheapest: on the front
        (12.0, 0.69),   # 1 dominated by 0
        (20.0, 0.86),   # 2 on the front
        (24.0, 0.84),   # 3 dominated by 2
        (20.0, 0.80),   # 4 same energy as 2, lower R²: dominated
        (45.0, 0.91),   # 5 most accurate: on the front
        (45.0, 0.91),   # 6 identical to 5: neither dominates the other
        (50.0, 0.91),   # 7 same R² as 5 for more energy: dominated
    ]
    assert pareto_front(points) == [0, 2, 5, 6]
    assert pareto_front([]) == []
    assert pareto_front([(1.0, 0.5)]) == [0]


def naive_rolling_r2(y: np.ndarray, p: np.ndarray, window: int) -> np.ndarray:
    return np.array([r2_score(y[i:i + window], p[i:i + window]) for i in range(y.size - window + 1)])


@pytest.mark.parametrize("window", [1, 2, 7, 50, 300])
def test_rolling_r2_matches_the_naive_computation(window: int) -> None:
    rng = np.random.default_rng(3)
    y = 500 + 100 * np.sin(np.arange(300) / 20) + rng.normal(0, 5, 300)
    p = y + rng.normal(0, 15, 300)
    y[100:160] = 420.0                   # a flat stretch: windows inside it follow the convention
    p[120:160] = 420.0                   # ... exact predictions in part of it
    got = rolling_r2(y, p, window)
    assert got.shape == (300 - window + 1,)
    # Tiny windows have near-zero SS_tot, where any method loses a few digits.
    np.testing.assert_allclose(got, naive_rolling_r2(y, p, window), rtol=1e-6, atol=1e-8)


def test_rolling_r2_rejects_a_window_longer_than_the_run() -> None:
    with pytest.raises(ReportError, match="window 11"):
        rolling_r2(np.arange(10.0), np.arange(10.0), 11)


def test_short_runs_use_a_smaller_window(tmp_path: Path) -> None:
    assert effective_window(5000, 1200) == 1200
    assert effective_window(600, 1200) == 150
    assert effective_window(3, 1200) == 2
    assert effective_window(1, 1200) == 1
    short = [make_result("harmone", n=40, events=harmone_events(40)), make_result("single-svm", n=1)]
    assert plot_rolling_r2(short, tmp_path / "r.png").read_bytes().startswith(PNG_MAGIC)
    assert plot_harmone_timeline(short[0], tmp_path / "t.png").read_bytes().startswith(PNG_MAGIC)
    assert plot_energy_vs_r2(short, tmp_path / "e.png").read_bytes().startswith(PNG_MAGIC)


def test_zero_predictions_is_a_clear_error(tmp_path: Path) -> None:
    empty = make_result("switch", n=0)
    with pytest.raises(ValueError, match="'switch' made zero predictions"):
        write_results([make_result("harmone"), empty], tmp_path, seed=0, meter={})
    with pytest.raises(HarmonEError, match="zero predictions"):
        _ = empty.energy_mj_per_prediction
    assert not list(tmp_path.iterdir())


def test_bad_inputs_name_the_field() -> None:
    with pytest.raises(ReportError, match="'harmone': model has 599 values but predictions = 600"):
        make_result("harmone", model=np.full(599, "lstm"))
    with pytest.raises(ReportError, match="retraining_energy_uj must be between 0 and adaptation_energy_uj"):
        make_result("harmone", adaptation_energy_uj=5.0, retraining_energy_uj=6.0)
    with pytest.raises(ReportError, match="meter_kind 'guessed'"):
        make_result("harmone", meter_kind="guessed")
    with pytest.raises(ReportError, match="action 'jump'"):
        EventMark(1.0, "switch", "jump", None, None, False)
    with pytest.raises(ReportError, match="'switch' appears twice"):
        format_table([make_result("switch"), make_result("switch")])
    with pytest.raises(ReportError, match="no approach results"):
        format_table([])


def test_results_are_frozen_copies() -> None:
    truth = np.arange(600, dtype=np.float64)
    result = make_result("switch", true_value=truth)
    truth[0] = -1.0
    assert result.true_value[0] == 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.r2 = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        result.true_value[0] = 5.0


def test_importing_the_report_does_not_import_matplotlib() -> None:
    code = "import sys, harmone.report; print(any(m.startswith('matplotlib') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


GOLDEN = Path(__file__).parent / "data" / "report_golden"


def test_the_report_writes_the_pinned_files(tmp_path: Path) -> None:
    """results.csv/json/md, run.json and the table, byte for byte (pinned when the report was split;
    the skill and naive-baseline columns added since). Exact on any machine: every figure is a product or quotient of
    the fixed inputs (no BLAS, no vectorised sum), which IEEE arithmetic rounds the same everywhere."""
    results = all_approaches(n=300)
    paths = write_results(results, tmp_path, seed=7, meter=METER, extra={"stream": "synthetic"})
    for key in ("csv", "json", "md", "run"):
        assert paths[key].read_text(encoding="utf-8") == (GOLDEN / paths[key].name).read_text(encoding="utf-8"), key
    assert format_table(results) + "\n" == (GOLDEN / "table.txt").read_text(encoding="utf-8")


def test_a_missing_r2_stays_missing_and_reads_n_a(tmp_path: Path) -> None:
    one = make_result("single-svm", n=1, r2=None)
    assert one.r2 is None
    rows = results_rows([one, make_result("harmone")], seed=0, meter={})
    assert rows[0]["r2"] is None
    line = next(line for line in format_table([one]).splitlines() if line.startswith("single-svm"))
    assert line.split()[1] == "n/a"
    checked = claims([make_result("harmone", r2=None), make_result("switch")])
    assert len(checked) == 1 and not checked[0].holds and "R² n/a vs" in checked[0].detail
    paths = write_results([one, make_result("harmone")], tmp_path, seed=0, meter={})
    assert "| single-svm | n/a |" in paths["md"].read_text(encoding="utf-8")
    assert json.loads(paths["json"].read_text(encoding="utf-8"))[0]["r2"] is None


def test_a_run_result_without_its_series_has_figures_but_no_plots(tmp_path: Path) -> None:
    full = make_result("harmone")
    bare = dataclasses.replace(full, time_s=[], true_value=[], predicted_value=[], model=[])
    assert not bare.has_series and bare.energy_mj_per_prediction == full.energy_mj_per_prediction
    assert format_table([bare]) == format_table([full])
    with pytest.raises(ReportError, match="series not loaded"):
        write_results([bare], tmp_path, seed=0, meter={})
    restored = bare.with_series(time_s=full.time_s, true_value=full.true_value,
                                predicted_value=full.predicted_value, model=full.model)
    assert restored.has_series
