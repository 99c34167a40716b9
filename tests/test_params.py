"""One declaration of parameter constraints and one validator, for config, detectors and model kinds."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from harmone import config, detectors
from harmone.errors import ConfigError
from harmone.models import kinds, model_class
from harmone.params import Interval, Names, NumberTable, Options, OfType, ParamError, validate


@pytest.mark.parametrize(("constraint", "good", "bad"), [
    (Interval(int, 1, 10), (1, 10), (0, 11, 2.0, True, "3")),
    (Interval(float, 0, 1, closed="neither"), (1e-9, 0.5, 0.999), (0, 1, -0.5, math.nan, math.inf, False)),
    (Interval(float, 0, 1, closed="left"), (0, 0.5), (1, 1.0)),
    (Interval(float, 0, 1, closed="right"), (1, 0.5), (0, 0.0)),
    (Interval(float, None, None), (-1e300, 0, 1e300), (math.nan, -math.inf, "1")),
    (Options(("a", "b")), ("a", "b"), ("c", 1, None)),
    (OfType(bool), (True, False), (0, 1, "true")),
    (OfType(str), ("", "x"), (1, True)),
    (Names(), (["a"], ["a", "a"]), ([], "a", [1], ("a",))),
    (NumberTable(), ({}, {"a": 1}), ({"a": True}, [1])),
])
def test_a_constraint_takes_what_it_declares_and_refuses_the_rest_naming_key_and_value(
        constraint: object, good: tuple, bad: tuple) -> None:
    for value in good:
        validate({"k": constraint}, {"k": value})  # type: ignore[dict-item]
    for value in bad:
        with pytest.raises(ParamError) as caught:
            validate({"k": constraint}, {"k": value})  # type: ignore[dict-item]
        message = str(caught.value)
        assert message.startswith("k") and repr(value) in message and "\n" not in message


def test_validate_returns_the_values_as_used_and_names_unknown_keys() -> None:
    constraints = {"rate": Interval(float, 0, None), "names": Names(), "table": NumberTable()}
    assert validate(constraints, {"rate": 2, "names": ["a", "b", "a"], "table": {"x": 1}}) == \
        {"rate": 2.0, "names": ("a", "b"), "table": {"x": 1.0}}
    with pytest.raises(ParamError, match=r"^table.x = nan must be finite$"):
        validate(constraints, {"table": {"x": math.nan}})
    with pytest.raises(KeyError, match=r"unknown key 'colour' \(known: rate, names, table\)"):
        validate(constraints, {"colour": 1}, error=KeyError)


@pytest.mark.parametrize("kind", kinds())
def test_every_model_kind_declares_a_constraint_for_each_hyperparameter(kind: str) -> None:
    cls = model_class(kind)
    assert list(cls.parameter_constraints) == list(cls.default_params)
    validate(cls.parameter_constraints, cls.default_params)
    validate(cls.parameter_constraints, {**cls.default_params, **cls.published_params, **cls.default_retrain_params})


@pytest.mark.parametrize("name", detectors.names())
def test_every_detector_declares_a_constraint_for_each_setting(name: str) -> None:
    cls = detectors.detector_class(name)
    assert list(cls.parameter_constraints) == list(cls.default_params)
    validate(cls.parameter_constraints, cls.default_params)


def test_every_setting_of_every_section_declares_a_constraint() -> None:
    for name, section in config._SECTIONS.items():
        for f in dataclasses.fields(section):
            assert hasattr(f.metadata["constraint"], "check"), f"{name}.{f.name}"


@pytest.mark.parametrize(("text", "message"), [
    ("[switch]\nrecovery_cycles = -1\n", "[switch]: recovery_cycles = -1 is out of range (must be >= 0)"),
    ("[models.lstm]\nepochs = 0\n", "[models.lstm]: epochs = 0 is out of range (must be >= 1)"),
    ("[models.lstm.retrain]\nlearning_rate = 0\n",
     "[models.lstm.retrain]: learning_rate = 0.0 is out of range (must be > 0)"),
    ("[detectors.cusum]\nwarmup = 1\n", "[detectors.cusum]: warmup = 1 is out of range (must be >= 2)"),
    ("[detectors.adwin]\ndelta = 1\n", "[detectors.adwin]: delta = 1.0 is out of range (must be < 1)"),
    ("[energy]\nmeter = 'magic'\n", "[energy]: meter = 'magic' is not one of auto, estimator, fake, rapl"),
    ("[models.svm]\nsolver = 'magic'\n", "[models.svm]: solver = 'magic' is not one of liblinear, libsvm"),
    ("[drift]\nbins = 2.5\n", "[drift]: bins must be int, got 2.5"),
    ("[models.seasonal]\nseason = 2.5\n", "[models.seasonal]: season must be int, got 2.5"),
    ("[detectors.page-hinkley]\nmin_instances = 2.5\n", "[detectors.page-hinkley]: min_instances must be int, got 2.5"),
    ("[detectors.page-hinkley]\nthreshold = nan\n", "[detectors.page-hinkley]: threshold = nan must be finite"),
    ("[models.linear]\nalpha = inf\n", "[models.linear]: alpha = inf must be finite"),
])
def test_sections_models_and_detectors_refuse_in_the_same_words(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "harmone.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert str(caught.value) == f"{path} {message}"
