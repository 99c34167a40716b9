"""Calibration: energy per prediction per kind, the range it proposes, saving and loading."""

from __future__ import annotations

import json
from collections.abc import Callable
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


def predictor(meter: FakeMeter, energy_uj: float, *, cold_uj: float = 0.0,
              calls: list[str] | None = None, name: str = "") -> Callable[[], float]:
    """One prediction that costs ``energy_uj``; the first call also pays ``cold_uj``."""
    state = {"first": True}

    def predict() -> float:
        meter.advance(energy_uj + (cold_uj if state["first"] else 0.0))
        state["first"] = False
        if calls is not None:
            calls.append(name)
        return 0.0

    return predict


def zoo(meter: FakeMeter) -> dict[str, Callable[[], float]]:
    return {"lstm": predictor(meter, 300.0), "svm": predictor(meter, 60.0), "linear": predictor(meter, 20.0)}


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


def test_warmup_is_not_counted_and_kinds_are_interleaved() -> None:
    meter = FakeMeter()
    calls: list[str] = []
    predictors = {"a": predictor(meter, 10.0, cold_uj=1e9, calls=calls, name="a"),
                  "b": predictor(meter, 5.0, calls=calls, name="b")}
    calibration = calibrate(predictors, meter, predictions=30, rounds=3, warmup=2)
    assert calibration.energy_uj_per_prediction["a"] == pytest.approx(10.0)
    measured_calls = calls[4:]  # after 2 warm-up calls per kind
    assert measured_calls == (["a"] * 10 + ["b"] * 10) * 3


def test_a_meter_that_never_moves_cannot_calibrate() -> None:
    meter = FakeMeter()
    with pytest.raises(EnergyError, match="counted no energy"):
        calibrate({"linear": lambda: 0.0}, meter, predictions=10)


def test_nonsense_arguments_are_rejected() -> None:
    meter = FakeMeter()
    with pytest.raises(ValueError):
        calibrate({}, meter)
    with pytest.raises(ValueError):
        calibrate({"a": lambda: 0.0}, meter, predictions=0)
    with pytest.raises(ValueError):
        calibrate({"a": lambda: 0.0}, meter, headroom=0.5)


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
