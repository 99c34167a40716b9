"""The nine approaches: names, loops and pinned models as published."""

from __future__ import annotations

import pytest

from harmone.approaches import APPROACHES, Approach, get_approach
from harmone.errors import ConfigError, ModelError

PUBLISHED = {
    "harmone": ({"switch", "drift"}, None),
    "switch": ({"switch"}, None),
    "switch+retrain": ({"switch", "retrain"}, None),
    "single-lstm": (set(), "lstm"),
    "single-svm": (set(), "svm"),
    "single-linear": (set(), "linear"),
    "single-lstm+retrain": ({"retrain"}, "lstm"),
    "single-svm+retrain": ({"retrain"}, "svm"),
    "single-linear+retrain": ({"retrain"}, "linear"),
}


def test_the_nine_published_approaches_come_first_in_order() -> None:
    assert list(APPROACHES)[:9] == list(PUBLISHED)
    # After them, the other policies (the bandit, any a plugin installs), then the single
    # baselines of the other registered kinds.
    rest = list(APPROACHES)[9:]
    assert "bandit" in rest and APPROACHES["bandit"].policy == "bandit"
    assert all(APPROACHES[name].policy not in {"harmone", "switch", "switch+retrain"} for name in rest)
    assert all(APPROACHES[name].fixed_model not in {"lstm", "svm", "linear"} for name in rest)
    assert all(APPROACHES[name].policy == "fixed" for name in rest if name.startswith("single-"))


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_loops_and_fixed_model_are_as_published(name: str) -> None:
    approach = get_approach(name)
    loops, fixed = PUBLISHED[name]
    assert approach.name == name
    assert approach.loops == frozenset(loops)
    assert approach.fixed_model == fixed
    assert approach.description


def test_retrain_baselines_actually_retrain() -> None:
    assert all(a.runs("retrain") for name, a in APPROACHES.items() if name.endswith("+retrain"))


def test_unknown_approach_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError) as info:
        get_approach("single-xgboost")
    message = str(info.value)
    assert "'single-xgboost'" in message
    assert all(name in message for name in PUBLISHED)
    assert "\n" not in message


def test_a_pinned_model_must_be_trained() -> None:
    get_approach("single-svm").check_models({"svm", "lstm"})
    get_approach("harmone").check_models(set())
    with pytest.raises(ModelError, match="'single-svm'.*'svm'.*linear, lstm"):
        get_approach("single-svm").check_models({"lstm", "linear"})


def test_approaches_are_immutable_and_validated() -> None:
    with pytest.raises(TypeError):
        APPROACHES["mine"] = APPROACHES["switch"]  # type: ignore[index]
    with pytest.raises(ValueError, match="unknown loops"):
        Approach("odd", frozenset({"sleep"}), None, "")
    with pytest.raises(ValueError, match="fixed model"):
        Approach("odd", frozenset({"switch"}), "lstm", "")


def test_every_registered_kind_gets_its_single_baselines_after_the_published_ones() -> None:
    from harmone.approaches import build_approaches

    approaches = build_approaches(["linear", "lstm", "svm", "arima"], policies=["harmone", "switch", "switch+retrain"])
    assert list(approaches)[3:] == ["single-lstm", "single-svm", "single-linear",
                                    "single-lstm+retrain", "single-svm+retrain", "single-linear+retrain",
                                    "single-arima", "single-arima+retrain"]
    assert approaches["single-arima+retrain"].loops == frozenset({"retrain"})
    assert approaches["single-arima"].fixed_model == "arima"
