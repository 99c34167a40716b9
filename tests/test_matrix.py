"""Matrices: deterministic with the model meter, order-free energy, failed cells, reruns, report, cluster."""

from __future__ import annotations

import dataclasses

import json
from pathlib import Path

import pytest

from harmone import experiment, lifecycle
from harmone.energy.model import ModelMeter, load_energy_model
from harmone.errors import HarmonEError
from harmone.matrix import Cell, CellOptions, load_cells, parse_seeds, parse_streams, run_matrix
from harmone.matrix.cell import TIMING_KEY
from harmone.matrix.streams import check as check_stream
from harmone.report import format_table
from harmone.report.matrix import aggregate, pareto, regret, summary, t_interval
from harmone.report.matrix_files import write_matrix_report
from harmone.workspace import Workspace

from conftest import FAST_CONFIG, PUBLISHED_MODELS, edit_config
from test_cli import harmone

#: Short training: two LSTM epochs, fixed SVR and ridge strengths (no selection by validation).
QUICK = {**FAST_CONFIG, **PUBLISHED_MODELS}
APPROACHES = ("harmone", "switch", "single-lstm+retrain", "single-svm+retrain")


def fast_config_text(tmp: Path) -> str:
    workspace, _ = Workspace.init(tmp / "cfg")
    edit_config(workspace, QUICK)
    return workspace.config_path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def options(tmp_path_factory: pytest.TempPathFactory) -> CellOptions:
    return CellOptions(approaches=APPROACHES, steps=300, meter="model",
                       config_text=fast_config_text(tmp_path_factory.mktemp("cfg")))


def test_seeds_and_streams_parse_or_say_what_is_wrong() -> None:
    assert parse_seeds("0-3,7,2") == [0, 1, 2, 3, 7]
    assert parse_streams("default, pems,default") == ["default", "pems"]
    for bad in ("3-1", "a", "1-"):
        with pytest.raises(HarmonEError, match="--seeds"):
            parse_seeds(bad)
    with pytest.raises(HarmonEError, match="unknown stream 'nope': give one of default, alt, pems"):
        check_stream("nope")


def test_two_runs_of_a_matrix_with_the_model_meter_write_identical_results(options: CellOptions,
                                                                           tmp_path: Path) -> None:
    cells = [Cell("default", 3), Cell("no-such-stream.csv", 3)]
    files = []
    for name in ("a", "b"):
        run = run_matrix(cells, options, tmp_path / name, workers=1)
        assert run.ran == ["default__seed3"]
        assert "no such CSV file" in run.failed["no-such-stream.csv__seed3"]  # reported; the other cell ran
        record = json.loads((tmp_path / name / "cells" / "default__seed3.json").read_text())
        assert record["meter"]["modelled"] and record["meter"]["source"].startswith("model:")
        record.pop(TIMING_KEY)
        files.append(record)
    assert files[0] == files[1]
    assert set(files[0]["approaches"]) == set(APPROACHES)
    again = run_matrix(cells[:1], options, tmp_path / "a", workers=1)
    assert again.skipped == ["default__seed3"] and not again.ran  # a rerun skips finished cells
    # Finished cells of another matrix (other steps, approaches, meter or configuration) never count.
    with pytest.raises(HarmonEError, match="holds cells of another matrix .different steps"):
        run_matrix(cells[:1], dataclasses.replace(options, steps=(options.steps or 0) + 1), tmp_path / "a", workers=1)


def test_an_approachs_energy_does_not_depend_on_its_place_in_the_run_order(tmp_path: Path) -> None:
    workspace, _ = Workspace.init(tmp_path / "ws")
    edit_config(workspace, {**FAST_CONFIG, 'meter = "auto"': 'meter = "fake"'})
    workspace = Workspace.open(workspace.root)
    lifecycle.use_builtin_stream(workspace, seed=4)
    lifecycle.train_initial(workspace, ["linear", "svm", "lstm"])
    order = ["single-svm+retrain", "harmone", "single-linear+retrain"]
    energies = []
    for name, approaches in (("forward", order), ("backward", order[::-1])):
        meter = ModelMeter(load_energy_model())
        runs = experiment.run_experiment(workspace, tmp_path / name, approaches=approaches, steps=3500, seed=1,
                                         meter=meter)
        energies.append({r.summary.approach: (r.summary.inference_energy_uj, r.summary.adaptation_energy_uj,
                                              r.summary.retraining_energy_uj) for r in runs})
    assert "modelled, not measured (model:" in format_table([experiment.to_result(r) for r in runs])
    assert energies[0] == energies[1]
    assert energies[0]["single-svm+retrain"][2] > 0  # a retraining was charged, and charged alike


def _record(stream: str, seed: int, figures: dict[str, tuple[float, float]]) -> dict:
    return {"cell": {"stream": stream, "seed": seed, "id": f"{stream}__seed{seed}"},
            "meter": {"kind": "estimated", "source": "model:test", "modelled": True},
            "approaches": {a: {"r2": r2, "energy_uj_per_prediction": e, "skill": r2 - 0.5}
                           for a, (e, r2) in figures.items()}}


def test_the_report_gives_intervals_regret_fronts_and_claims(tmp_path: Path) -> None:
    records = []
    for seed in range(4):
        jitter = 0.01 * seed
        records.append(_record("default", seed, {"harmone": (100, 0.90 + jitter), "switch": (120, 0.89 + jitter),
                                                 "single-lstm+retrain": (400, 0.92 + jitter),
                                                 "single-linear": (50, 0.70 + jitter)}))
        records.append(_record("pems", seed, {"harmone": (100, 0.80 + jitter), "switch": (120, 0.85 + jitter),
                                              "single-lstm+retrain": (400, 0.82 + jitter),
                                              "single-linear": (50, 0.85 + jitter)}))
    interval = t_interval([1.0, 2.0, 3.0])
    assert interval.mean == 2.0 and interval.low == pytest.approx(2 - 4.303 / 3 ** 0.5, abs=1e-3)
    table = summary(aggregate(records)["rows"])
    assert pareto(table)["pems"] == ["single-linear"]  # cheapest and most accurate there
    by_name = {r["approach"]: r for r in regret(table)}
    assert by_name["single-linear"]["mean_regret"] == pytest.approx(0.0)
    assert by_name["harmone"]["worst_regret"] == pytest.approx(0.05) and by_name["harmone"]["worst_stream"] == "pems"
    report = aggregate(records)
    ratio = next(c for c in report["claims"] if c["streams"] == "default")["energy_ratio"]
    assert ratio["mean"] == pytest.approx(0.25) and ratio["verdict"] == "holds"
    vs_switch = next(p for p in report["paired"] if p["stream"] == "default" and p["approach"] == "switch")
    assert vs_switch["energy_uj_per_prediction"]["wins"] == 4 and vs_switch["r2"]["wins"] == 4
    paths = write_matrix_report(records, tmp_path, plots=False)
    text = paths["markdown"].read_text()
    assert text.index("## Regret") < text.index("## Claims") and "modelled, not measured" in text
    assert "stream,approach,seeds,r2_mean" in paths["summary_csv"].read_text()


def test_a_bad_energy_model_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"format": 1, "prediction_uj": {"lstm": -1}}))
    with pytest.raises(HarmonEError, match=r"m.json: prediction_uj.lstm must be a finite number >= 0"):
        load_energy_model(path)


def test_a_loop_run_is_charged_its_fixed_cost_and_its_rows_and_older_files_still_load(tmp_path: Path) -> None:
    from harmone.energy.model import EnergyModel
    from harmone.energy.model_build import _fit_run_and_row

    model = EnergyModel(name="t", prediction_uj={"linear": 1.0}, retraining_uj={"linear": 5.0},
                        loop_run_uj={"switch": 100.0, "drift": 10.0, "retrain": 50.0},
                        loop_row_uj={"switch": 2.0})
    assert model.loop_run("switch", 267) == 100.0 + 2.0 * 267 and model.loop_run("drift", 640) == 10.0
    path = tmp_path / "m.json"
    model.save(path)
    assert load_energy_model(path) == model
    raw = json.loads(path.read_text())
    for added in ("loop_row_uj", "warm_retraining_uj"):
        del raw[added]
    path.write_text(json.dumps(raw))
    older = load_energy_model(path)
    assert older.loop_run("switch", 267) == 100.0 and not older.warm_retraining_uj
    # Built from runs: a line through (rows, energy); flat where the rows never vary.
    assert _fit_run_and_row([(r, 7.0 + 0.5 * r) for r in (267, 534, 2136)]) == pytest.approx((7.0, 0.5))
    assert _fit_run_and_row([(267, 9.0), (267, 11.0), (267, 10.0)]) == (10.0, 0.0)


@pytest.mark.slow
def test_experiment_seeds_by_streams_from_the_command_line(tmp_path: Path) -> None:
    workspace, _ = Workspace.init(tmp_path / "ws")
    edit_config(workspace, QUICK)
    result = harmone("experiment", "-w", str(workspace.root), "--seeds", "0-2", "--streams", "default,pems",
                     "--steps", "150", "--approaches", "harmone,switch,single-lstm+retrain", "--workers", "1",
                     "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert "6 cell(s) run" in result.stdout and "## Regret" in result.stdout
    report = json.loads((tmp_path / "out" / "matrix.json").read_text())
    assert report["cells"] == 6 and report["streams"] == ["default", "pems"] and report["seeds"] == [0, 1, 2]
    assert (tmp_path / "out" / "matrix_regret.png").exists() and (tmp_path / "out" / "matrix.csv").exists()
    assert len(load_cells(tmp_path / "out")) == 6


@pytest.mark.slow
def test_cells_run_on_a_local_dask_cluster(options: CellOptions, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="the cluster extra (Dask distributed) is not installed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        run = run_matrix([Cell("default", 5)], options, tmp_path, cluster=cluster.scheduler_address)
    assert run.ran == ["default__seed5"] and not run.failed
    assert load_cells(tmp_path)[0]["approaches"]["harmone"]["predictions"] == 300


def test_the_model_meter_charges_a_warm_start_its_share_of_a_retraining(tmp_path: Path) -> None:
    from harmone.energy.model import EnergyModel, retraining_cost
    from harmone.testing import small_workspace
    from harmone.training import warm_share

    workspace = small_workspace(tmp_path / "ws", kinds=("linear",))
    config = workspace.config
    model = EnergyModel(name="t", prediction_uj={"lstm": 1.0}, retraining_uj={"lstm": 1000.0, "svm": 700.0},
                        loop_run_uj=dict.fromkeys(("switch", "drift", "retrain"), 0.0),
                        warm_retraining_uj={"svm": 70.0})
    # A kind with no serving version yet pays a whole retraining.
    assert retraining_cost(workspace, "lstm", config, model) == 1000.0
    assert retraining_cost(workspace, "svm", config, model) == 700.0
    lifecycle.train_initial(workspace, ["lstm", "svm"])
    # A measured warm cost when the model has one, else the estimated share of the whole.
    assert retraining_cost(workspace, "svm", config, model) == 70.0
    epochs = config.model_params("lstm", retrain=True)["epochs"]
    assert retraining_cost(workspace, "lstm", config, model) == pytest.approx(1000.0 * config.retrain.warm_epochs / epochs)
    assert warm_share(config, "lstm", True) == pytest.approx(config.retrain.warm_epochs / epochs)
    cold = dataclasses.replace(config, retrain=dataclasses.replace(config.retrain, warm_start=False))
    assert retraining_cost(workspace, "lstm", cold, model) == 1000.0
    assert retraining_cost(workspace, "svm", cold, model) == 700.0
