"""Calibration: energy per prediction per kind, the range it proposes, saving and loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harmone.config import EnergyConfig
from harmone.energy import (
    Calibration,
    FakeMeter,
    calibrate,
    energy_range,
    load_calibration,
    normalise,
)
from harmone.errors import EnergyError, HarmonEError
from harmone.workspace import Workspace
from conftest import edit_config


class FakeServer:
    """One kind served on a fake meter: each step costs ``model_uj`` of its own work plus
    ``overhead_uj`` around it; the first step also pays ``cold_uj``. Records the idle gaps."""

    def __init__(self, meter: FakeMeter, model_uj: float, *, overhead_uj: float = 0.0, cold_uj: float = 0.0,
                 calls: list[str] | None = None, name: str = "") -> None:
        self.meter, self.model_uj, self.overhead_uj, self.cold_uj = meter, model_uj, overhead_uj, cold_uj
        self.calls, self.name = calls, name
        self._model = self._overhead = 0.0

    def step(self) -> None:
        cost = self.model_uj + self.cold_uj
        self.cold_uj = 0.0
        self.meter.advance(cost + self.overhead_uj)
        self._model += cost
        self._overhead += self.overhead_uj
        if self.calls is not None:
            self.calls.append(self.name)

    def take(self) -> tuple[float, float]:
        taken = self._model, self._overhead
        self._model = self._overhead = 0.0
        return taken


def zoo(meter: FakeMeter) -> dict[str, FakeServer]:
    return {"lstm": FakeServer(meter, 300.0, overhead_uj=7.0), "svm": FakeServer(meter, 60.0, overhead_uj=7.0),
            "linear": FakeServer(meter, 20.0, overhead_uj=7.0)}


def score_energy_term(e: float) -> float:
    return 0.05 * (1.0 - e)


def test_calibration_measures_each_kind_and_spans_the_zoo() -> None:
    meter = FakeMeter(kind="measured", source="rapl:package-0")
    calibration = calibrate(zoo(meter), meter, predictions=200)
    assert calibration.energy_uj_per_prediction == pytest.approx({"lstm": 300.0, "svm": 60.0, "linear": 20.0})
    assert calibration.e_min_uj == 0.0
    assert calibration.e_max_uj == pytest.approx(1.25 * 300.0)
    assert (calibration.meter_kind, calibration.meter_source) == ("measured", "rapl:package-0")
    assert calibration.predictions == 200
    # The most expensive kind is at 0.8, not clamped; the energy term now separates kinds.
    assert calibration.normalised("lstm") == pytest.approx(0.8)
    assert calibration.normalised("linear") == pytest.approx(20.0 / 375.0)
    gap = score_energy_term(calibration.normalised("linear")) - score_energy_term(calibration.normalised("lstm"))
    published_gap = (score_energy_term(normalise(20.0, 0.0, 25_000.0))
                     - score_energy_term(normalise(300.0, 0.0, 25_000.0)))
    assert gap > 30 * published_gap


def test_the_models_own_work_is_what_the_range_is_built_on() -> None:
    meter = FakeMeter()
    calibration = calibrate(zoo(meter), meter, predictions=20)
    assert calibration.overhead_uj_per_prediction == pytest.approx({"lstm": 7.0, "svm": 7.0, "linear": 7.0})
    assert calibration.e_max_uj == pytest.approx(1.25 * 300.0)


def test_warmup_is_not_counted_and_kinds_take_turns_after_an_idle_gap() -> None:
    meter = FakeMeter()
    calls: list[str] = []
    gaps: list[float] = []

    def sleep(seconds: float) -> None:
        gaps.append(seconds)
        calls.append("idle")

    servers = {"a": FakeServer(meter, 10.0, cold_uj=1e9, calls=calls, name="a"),
               "b": FakeServer(meter, 5.0, calls=calls, name="b")}
    calibration = calibrate(servers, meter, predictions=3, warmup=2, gap_s=0.02, sleep=sleep)
    assert calibration.energy_uj_per_prediction["a"] == pytest.approx(10.0)
    assert calls[:4] == ["a", "a", "b", "b"]  # warm-up: no gaps, not counted
    assert calls[4:] == ["idle", "a", "idle", "b"] * 3
    assert gaps == [0.02] * 6 and calibration.gap_s == 0.02


def test_a_burst_of_other_work_during_one_round_does_not_move_the_figure() -> None:
    meter = FakeMeter()
    server = FakeServer(meter, 100.0, overhead_uj=10.0)
    steps = {"n": 0}
    step = server.step

    def bursty() -> None:  # the seventh prediction runs beside something else and costs 50 times more
        steps["n"] += 1
        server.model_uj = 5000.0 if steps["n"] == 7 else 100.0
        step()

    server.step = bursty  # type: ignore[method-assign]
    calibration = calibrate({"linear": server}, meter, predictions=20, rounds=5, warmup=0)
    assert calibration.energy_uj_per_prediction["linear"] == pytest.approx(100.0)
    assert calibration.overhead_uj_per_prediction["linear"] == pytest.approx(10.0)


def test_a_meter_that_never_moves_cannot_calibrate() -> None:
    meter = FakeMeter()
    with pytest.raises(EnergyError, match="counted no energy"):
        calibrate({"linear": FakeServer(meter, 0.0)}, meter, predictions=10)


def test_nonsense_arguments_are_rejected() -> None:
    meter = FakeMeter()
    with pytest.raises(ValueError):
        calibrate({}, meter)
    with pytest.raises(ValueError):
        calibrate({"a": FakeServer(meter, 1.0)}, meter, predictions=0)
    with pytest.raises(ValueError):
        calibrate({"a": FakeServer(meter, 1.0)}, meter, headroom=0.5)
    with pytest.raises(ValueError):
        calibrate({"a": FakeServer(meter, 1.0)}, meter, gap_s=-1.0)
    with pytest.raises(ValueError):
        calibrate({"a": FakeServer(meter, 1.0)}, meter, rounds=0)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    meter = FakeMeter()
    calibration = calibrate(zoo(meter), meter, predictions=50)
    path = tmp_path / "knowledge" / "energy-calibration.json"
    calibration.save(path)
    assert load_calibration(path) == calibration
    assert sorted(p.name for p in path.parent.iterdir()) == ["energy-calibration.json"]  # no temp left
    calibration.energy_uj_per_prediction["lstm"] = 1.0  # cannot reach what was saved
    assert load_calibration(path) != calibration


def test_missing_calibration_is_none(tmp_path: Path) -> None:
    assert load_calibration(tmp_path / "absent.json") is None


def _saved(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    calibration = Calibration(energy_uj_per_prediction={"lstm": 300.0}, duration_s_per_prediction={"lstm": 3e-4},
                              e_min_uj=0.0, e_max_uj=375.0, meter_kind="estimated", meter_source="fake",
                              predictions=10, headroom=1.25)
    path = tmp_path / "cal.json"
    calibration.save(path)
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(("key", "value", "message"), [
    ("e_max_uj", None, "e_max_uj must be a finite number"),
    ("e_max_uj", -1.0, "e_max_uj must be a finite number"),
    ("e_min_uj", 400.0, "must exceed e_min_uj"),
    ("meter_kind", "guessed", "meter_kind"),
    ("energy_uj_per_prediction", [1, 2], "energy_uj_per_prediction must be a table"),
    ("format", 99, "format 99"),
])
def test_damaged_calibration_names_file_and_key(tmp_path: Path, key: str, value: object, message: str) -> None:
    path, raw = _saved(tmp_path)
    raw[key] = value
    path.write_text(json.dumps(raw))
    with pytest.raises(EnergyError, match=message) as caught:
        load_calibration(path)
    assert str(path) in str(caught.value)


def test_calibration_that_is_not_json_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    path.write_text("{ torn")
    with pytest.raises(EnergyError, match="not valid JSON"):
        load_calibration(path)


def test_energy_range_prefers_calibration_unless_published_is_asked_for(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    calibration = load_calibration(path)
    assert energy_range(EnergyConfig(), calibration) == (0.0, 375.0)
    assert energy_range(EnergyConfig(), None) == (0.0, 25_000.0)
    assert energy_range(EnergyConfig(normalisation="published"), calibration) == (0.0, 25_000.0)
    assert energy_range(EnergyConfig(normalisation="published", e_max_uj=9.0), None) == (0.0, 9.0)


def test_normalise_is_clamped_to_the_unit_interval() -> None:
    assert normalise(500.0, 0.0, 25_000.0) == pytest.approx(0.02)
    assert normalise(-5.0, 0.0, 100.0) == 0.0
    assert normalise(250.0, 0.0, 100.0) == 1.0
    assert normalise(75.0, 50.0, 150.0) == pytest.approx(0.25)
    with pytest.raises(HarmonEError, match="e_max_uj"):
        normalise(1.0, 100.0, 100.0)
    with pytest.raises(HarmonEError, match="finite"):
        normalise(float("nan"), 0.0, 1.0)


def test_a_workspace_calibrates_through_the_serving_engine(trained_workspace: Workspace) -> None:
    from harmone import lifecycle

    edit_config(trained_workspace, {'meter = "auto"': 'meter = "estimator"'})
    workspace = Workspace.open(trained_workspace.root)
    calibration = lifecycle.calibrate_energy(workspace, predictions=30, gap_s=0.001)
    saved = load_calibration(workspace.calibration_path)
    assert saved == calibration
    assert sorted(saved.energy_uj_per_prediction) == ["linear", "svm"]
    assert saved.gap_s == 0.001 and saved.meter_kind == "estimated"
    assert all(uj > 0 for uj in saved.energy_uj_per_prediction.values())
    assert sorted(saved.overhead_uj_per_prediction) == ["linear", "svm"]
    assert saved.e_max_uj == pytest.approx(1.25 * max(saved.energy_uj_per_prediction.values()))
    assert json.loads(workspace.calibration_path.read_text())["format"] == 2
    # Calibrating logs into a scratch knowledge base, never the workspace's.
    assert not workspace.db_path.exists()


def test_a_calibration_of_the_first_format_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({
        "format": 1, "created_at": "2026-11-01T00:00:00+00:00", "meter_kind": "estimated",
        "meter_source": "cpu-time-estimate:thread@15W/core", "predictions": 2000, "headroom": 1.25,
        "e_min_uj": 0.0, "e_max_uj": 1250.0, "energy_uj_per_prediction": {"lstm": 1000.0, "linear": 150.0},
        "duration_s_per_prediction": {"lstm": 1e-4, "linear": 1e-5}}))
    loaded = load_calibration(path)
    assert loaded is not None and loaded.normalised("lstm") == pytest.approx(0.8)
    assert loaded.overhead_uj_per_prediction == {} and loaded.gap_s == 0.0
