"""The switch loop's rules: score, EMA, budget, recovery, exploration and model choice."""

from __future__ import annotations

import dataclasses
import random
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from harmone.config import Config, SwitchConfig, published_loops
from harmone.errors import ConfigError, WorkspaceError
from harmone.mape.analyse import SwitchAnalysis, analyse_switch
from harmone.mape.monitor import monitor_switch
from harmone.mape.plan import SwitchPlan, plan_switch
from harmone.knowledge.codec import decode_switch_state, encode_switch_state
from harmone.mape.snapshot import PredictionBatch, SwitchSnapshot, SwitchState, initial_switch_state

KINDS = ("linear", "lstm", "svm")
E_MAX_UJ = 25_000.0


def make_config(**switch: Any) -> Config:
    """A config with switch settings changed, including budget settings config.py may not list yet."""
    base = published_loops(Config())  # these are the published rules (R² score, min 0.78)
    known = {f.name for f in dataclasses.fields(SwitchConfig)}
    section: Any = dataclasses.replace(base.switch, **{k: v for k, v in switch.items() if k in known})
    extra = {k: v for k, v in switch.items() if k not in known}
    if extra:
        section = SimpleNamespace(**{**{f.name: getattr(section, f.name) for f in dataclasses.fields(section)},
                                     **extra})
    return base.replace(switch=section)


def rows(model: str, n: int, *, energy_uj: float, noise: float, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` rows served by ``model`` with a chosen energy and prediction error."""
    rng = np.random.default_rng(seed)
    true = np.sin(np.linspace(0, 6, n)) * 100 + 300
    return {"true_value": true, "predicted_value": true + rng.normal(0, noise, n),
            "energy_uj": np.full(n, energy_uj), "model": np.array([model] * n)}


def window(*parts: dict[str, np.ndarray], last_row_id: int = 100) -> PredictionBatch:
    keys = ("true_value", "predicted_value", "energy_uj", "model")
    joined = {k: np.concatenate([p[k] for p in parts]) if parts else np.array([]) for k in keys}
    return PredictionBatch(**joined, last_row_id=last_row_id)


def snapshot(win: PredictionBatch, state: SwitchState, *, current: str = "lstm",
             available: tuple[str, ...] = KINDS) -> SwitchSnapshot:
    return SwitchSnapshot(current_model=current, available_models=available, batch=win, state=state,
                          e_min_uj=0.0, e_max_uj=E_MAX_UJ)


def run(snap: SwitchSnapshot, config: Config, seed: int = 0) -> tuple[SwitchAnalysis, SwitchPlan]:
    analysis = analyse_switch(monitor_switch(snap, config), snap, config)
    return analysis, plan_switch(analysis, snap, config, random.Random(seed))


def state(config: Config, **changes: Any) -> SwitchState:
    return dataclasses.replace(initial_switch_state(config, KINDS), **changes)


NO_EXPLORE = {"explore_probability": 0.0}


# --- Monitor -------------------------------------------------------------------------------


def test_score_combines_r2_and_normalised_energy() -> None:
    config = make_config()
    part = rows("lstm", 50, energy_uj=10_000.0, noise=5.0)
    obs = monitor_switch(snapshot(window(part), state(config)), config)
    figures = obs.current
    assert figures is not None
    true, pred = part["true_value"], part["predicted_value"]
    r2 = 1 - np.sum((true - pred) ** 2) / np.sum((true - true.mean()) ** 2)
    assert figures.r2 == pytest.approx(r2)
    assert figures.mean_energy_uj == pytest.approx(10_000.0)
    assert figures.normalised_energy == pytest.approx(0.4)
    assert figures.score == pytest.approx(0.95 * r2 + 0.05 * 0.6)


@pytest.mark.parametrize(("energy_uj", "expected"), [(40_000.0, 1.0), (-5.0, 0.0), (25_000.0, 1.0)])
def test_normalised_energy_is_clamped_to_unit_range(energy_uj: float, expected: float) -> None:
    config = make_config()
    obs = monitor_switch(snapshot(window(rows("lstm", 10, energy_uj=energy_uj, noise=1.0)), state(config)), config)
    assert obs.current is not None and obs.current.normalised_energy == expected


def test_rows_are_credited_to_the_model_that_served_them() -> None:
    config = make_config()
    old = rows("svm", 30, energy_uj=2_000.0, noise=40.0, seed=1)
    new = rows("lstm", 30, energy_uj=20_000.0, noise=2.0, seed=2)
    obs = monitor_switch(snapshot(window(old, new), state(config), current="lstm"), config)
    assert set(obs.per_model) == {"svm", "lstm"}
    assert obs.per_model["lstm"].n_rows == 30
    assert obs.per_model["lstm"].mean_energy_uj == pytest.approx(20_000.0)
    assert obs.per_model["svm"].mean_energy_uj == pytest.approx(2_000.0)
    assert obs.per_model["lstm"].r2 > 0.99 > obs.per_model["svm"].r2
    assert obs.overall is not None and obs.overall.n_rows == 60


def test_a_model_with_fewer_than_two_rows_gets_no_observation() -> None:
    config = make_config()
    obs = monitor_switch(snapshot(window(rows("svm", 1, energy_uj=1.0, noise=1.0),
                                         rows("lstm", 5, energy_uj=1.0, noise=1.0)), state(config)), config)
    assert set(obs.per_model) == {"lstm"}


def test_non_finite_rows_are_dropped_not_scored() -> None:
    config = make_config()
    part = rows("lstm", 20, energy_uj=5_000.0, noise=1.0)
    part["predicted_value"][3] = np.nan
    part["energy_uj"][7] = np.inf
    obs = monitor_switch(snapshot(window(part), state(config)), config)
    assert obs.n_dropped == 2
    assert obs.current is not None and obs.current.n_rows == 18 and np.isfinite(obs.current.score)


# --- Analyse -------------------------------------------------------------------------------


def test_ema_moves_for_observed_models_only() -> None:
    config = make_config()
    start = state(config)
    part = rows("lstm", 40, energy_uj=5_000.0, noise=3.0)
    snap = snapshot(window(part), start)
    obs = monitor_switch(snap, config)
    analysis = analyse_switch(obs, snap, config)
    s = obs.per_model["lstm"].score
    assert analysis.state.ema["lstm"] == pytest.approx(0.8 * s + 0.2 * 0.82)
    assert analysis.state.ema["svm"] == 0.79
    assert analysis.state.ema["linear"] == 0.75


def test_new_state_records_the_window_last_row_id() -> None:
    config = make_config()
    analysis, _ = run(snapshot(window(rows("lstm", 5, energy_uj=1.0, noise=1.0), last_row_id=4321),
                               state(config, last_row_id=4000)), config)
    assert analysis.state.last_row_id == 4321
    empty, _ = run(snapshot(PredictionBatch.empty(), state(config, last_row_id=4000)), config)
    assert empty.state.last_row_id == 4000


def test_published_budget_grows_and_never_reports_energy_violation() -> None:
    config = make_config(budget_rule="published", **NO_EXPLORE)
    current = state(config)
    assert current.budget == 1.0
    budgets = []
    for cycle in range(20):
        # The costliest possible model: e = 1 every window.
        snap = snapshot(window(rows("lstm", 20, energy_uj=30_000.0, noise=1.0, seed=cycle)), current)
        analysis, plan = run(snap, config)
        assert analysis.violation != "energy"
        budgets.append(analysis.state.budget)
        current = analysis.state
    assert budgets == [1.0] * 20  # T <- T + 0.95 * (1 - 1)
    cheap = run(snapshot(window(rows("lstm", 20, energy_uj=5_000.0, noise=1.0)), current), config)[0]
    assert cheap.state.budget == pytest.approx(1.0 + 0.95 * (1.0 - 0.2))


def test_bounded_budget_drains_above_goal_and_fires() -> None:
    config = make_config(budget_rule="bounded", energy_goal=0.5, budget_max=1.0, **NO_EXPLORE)
    current = state(config)
    assert current.budget == 1.0
    # e = 0.9: the first window fits the full allowance, the second does not.
    snap = snapshot(window(rows("lstm", 20, energy_uj=22_500.0, noise=1.0)), current)
    first, plan = run(snap, config)
    assert first.violation is None and plan.action == "none"
    assert first.state.budget == pytest.approx(1.0 + 0.95 * (0.5 - 0.9))
    second, plan = run(dataclasses.replace(snap, state=first.state), config)
    assert second.violation == "energy"
    assert plan.action == "switch" and plan.reason == "energy-violation"


def test_bounded_budget_refills_below_goal_and_is_clamped() -> None:
    config = make_config(budget_rule="bounded", energy_goal=0.5, budget_max=1.0, **NO_EXPLORE)
    low = run(snapshot(window(rows("lstm", 20, energy_uj=2_500.0, noise=1.0)), state(config, budget=0.3)),
              config)[0]
    assert low.state.budget == pytest.approx(0.3 + 0.95 * (0.5 - 0.1))
    capped = run(snapshot(window(rows("lstm", 20, energy_uj=0.0, noise=1.0)), state(config, budget=0.9)),
                 config)[0]
    assert capped.state.budget == 1.0
    floored = run(snapshot(window(rows("lstm", 20, energy_uj=25_000.0, noise=1.0)),
                           state(config, budget=0.2)), config)[0]
    assert floored.state.budget == 0.0 and floored.violation == "energy"


def test_model_at_the_goal_never_violates_energy() -> None:
    config = make_config(budget_rule="bounded", energy_goal=0.5, **NO_EXPLORE)
    current = state(config)
    for cycle in range(30):
        snap = snapshot(window(rows("lstm", 20, energy_uj=12_500.0, noise=1.0, seed=cycle)), current)
        analysis, _ = run(snap, config)
        assert analysis.violation != "energy"
        current = analysis.state


def test_window_below_goal_repays_debt_without_violation() -> None:
    config = make_config(budget_rule="bounded", energy_goal=0.5, **NO_EXPLORE)
    # The allowance is spent (T = 0), but e = 0.4 is under the goal: it pays back, no switch.
    analysis, plan = run(snapshot(window(rows("svm", 20, energy_uj=10_000.0, noise=1.0)),
                                  state(config, budget=0.0), current="svm"), config)
    assert analysis.violation is None and plan.action == "none"
    assert analysis.state.budget == pytest.approx(0.95 * 0.1)


def test_unknown_budget_rule_is_a_config_error() -> None:
    from harmone.config import from_mapping

    with pytest.raises(ConfigError, match="budget_rule = 'other'"):
        from_mapping({"switch": {"budget_rule": "other"}})


def test_energy_violation_starts_recovery_that_blocks_switching() -> None:
    config = make_config(budget_rule="bounded", explore_probability=1.0)
    expensive = rows("lstm", 20, energy_uj=25_000.0, noise=80.0)  # poor R² and e = 1
    analysis, plan = run(snapshot(window(expensive), state(config, budget=0.2)), config)
    assert analysis.violation == "energy" and analysis.state.recovery == 3
    assert plan.action == "switch"
    current = analysis.state
    for left in (2, 1, 0):
        # Score and energy both violated, and the coin always says explore: still no switch.
        analysis, plan = run(snapshot(window(expensive), current), config)
        assert analysis.in_recovery and analysis.violation is None
        assert plan.action == "none" and plan.reason == "recovery"
        assert analysis.state.recovery == left
        current = analysis.state
    analysis, plan = run(snapshot(window(expensive), current), config)
    assert not analysis.in_recovery and plan.action == "switch"


def test_energy_violation_wins_over_score_violation() -> None:
    config = make_config(budget_rule="bounded", **NO_EXPLORE)
    analysis, _ = run(snapshot(window(rows("lstm", 20, energy_uj=25_000.0, noise=80.0)),
                               state(config, budget=0.1)), config)
    assert analysis.state.ema["lstm"] < 0.78
    assert analysis.violation == "energy"


def test_no_rows_from_the_current_model_means_no_judgement() -> None:
    config = make_config(explore_probability=1.0)
    snap = snapshot(window(rows("svm", 20, energy_uj=25_000.0, noise=80.0)), state(config, recovery=2),
                    current="lstm")
    analysis, plan = run(snap, config)
    assert analysis.violation is None and plan.reason == "recovery"
    assert analysis.state.recovery == 1  # counts down per run even without data
    assert analysis.state.ema["svm"] < 0.79  # the served rows still count for svm
    analysis, plan = run(dataclasses.replace(snap, state=dataclasses.replace(analysis.state, recovery=0)), config)
    assert plan.action == "none" and plan.reason == "no-data"


# --- Plan ----------------------------------------------------------------------------------


def ema_state(config: Config, ema: dict[str, float], **changes: Any) -> SwitchState:
    return state(config, ema=ema, **changes)


def test_energy_violation_picks_best_ema_among_the_others() -> None:
    config = make_config(budget_rule="bounded", **NO_EXPLORE)
    start = ema_state(config, {"lstm": 0.99, "svm": 0.70, "linear": 0.76}, budget=0.0)
    analysis, plan = run(snapshot(window(rows("lstm", 20, energy_uj=25_000.0, noise=1.0)), start), config)
    assert analysis.violation == "energy"
    assert analysis.state.ema["lstm"] > analysis.state.ema["linear"]  # still the best, yet must go
    assert (plan.action, plan.target, plan.reason) == ("switch", "linear", "energy-violation")


def test_an_energy_violation_never_switches_to_a_costlier_model() -> None:
    config = make_config(budget_rule="bounded", **NO_EXPLORE)
    start = ema_state(config, {"lstm": 0.99, "svm": 0.70, "linear": 0.76}, budget=0.0)
    calibrated = {"linear": 100.0, "svm": 120.0, "lstm": 800.0}
    snap = dataclasses.replace(snapshot(window(rows("svm", 20, energy_uj=25_000.0, noise=1.0)), start,
                                        current="svm"), calibrated_uj=calibrated)
    analysis, plan = run(snap, config)
    assert analysis.violation == "energy"
    # The LSTM has the best EMA, but it costs more than the SVR that overran: the cheaper linear model.
    assert (plan.action, plan.target) == ("switch", "linear")
    # As published, any other model may take over, the costlier one included.
    published = make_config(budget_rule="bounded", energy_target="any", **NO_EXPLORE)
    assert run(snap, published)[1].target == "lstm"
    # The cheapest kind has nowhere cheaper to go: it stays.
    cheapest = dataclasses.replace(snap, current_model="linear",
                                   batch=window(rows("linear", 20, energy_uj=25_000.0, noise=1.0)))
    analysis, plan = run(cheapest, config)
    assert analysis.violation == "energy" and (plan.action, plan.reason) == ("none", "energy-violation")


def test_score_violation_picks_best_ema_overall() -> None:
    config = make_config(**NO_EXPLORE)
    start = ema_state(config, {"lstm": 0.5, "svm": 0.79, "linear": 0.75})
    analysis, plan = run(snapshot(window(rows("lstm", 20, energy_uj=1_000.0, noise=80.0)), start), config)
    assert analysis.violation == "score"
    assert (plan.action, plan.target, plan.reason) == ("switch", "svm", "score-violation")


def test_score_violation_keeps_the_current_model_when_it_is_best() -> None:
    config = make_config(**NO_EXPLORE)
    start = ema_state(config, {"lstm": 0.5, "svm": 0.1, "linear": 0.1})
    analysis, plan = run(snapshot(window(rows("lstm", 20, energy_uj=1_000.0, noise=80.0)), start), config)
    assert analysis.violation == "score"
    assert (plan.action, plan.target, plan.reason) == ("none", None, "score-violation")


def test_equal_emas_are_broken_by_name() -> None:
    config = make_config(budget_rule="bounded", **NO_EXPLORE)
    start = ema_state(config, {"lstm": 0.9, "svm": 0.8, "linear": 0.8}, budget=0.0)
    _, plan = run(snapshot(window(rows("lstm", 20, energy_uj=25_000.0, noise=1.0)), start), config)
    assert plan.target == "linear"


def test_no_violation_no_switch() -> None:
    config = make_config(**NO_EXPLORE)
    analysis, plan = run(snapshot(window(rows("lstm", 20, energy_uj=1_000.0, noise=1.0)), state(config)), config)
    assert analysis.violation is None
    assert (plan.action, plan.reason) == ("none", "ok")
    assert plan.ema == analysis.state.ema["lstm"] and plan.budget == analysis.state.budget


def test_only_available_models_are_chosen() -> None:
    config = make_config(explore_probability=1.0)
    snap = snapshot(window(rows("lstm", 20, energy_uj=1_000.0, noise=1.0)), state(config), available=("lstm", "svm"))
    targets = {run(snap, config, seed)[1].target for seed in range(50)}
    assert targets == {"svm"}


def test_exploration_is_seeded_and_never_picks_the_current_model() -> None:
    config = make_config()
    snap = snapshot(window(rows("svm", 20, energy_uj=1_000.0, noise=1.0)), state(config), current="svm")
    analysis = analyse_switch(monitor_switch(snap, config), snap, config)

    def decisions(seed: int) -> list[tuple[str, str | None]]:
        rng = random.Random(seed)
        return [(p.action, p.target) for p in (plan_switch(analysis, snap, config, rng) for _ in range(300))]

    assert decisions(7) == decisions(7)
    assert decisions(7) != decisions(8)
    explored = [target for action, target in decisions(7) if action == "switch"]
    assert explored and "svm" not in explored and set(explored) == {"lstm", "linear"}


def test_exploration_frequency_matches_explore_probability() -> None:
    config = make_config()
    snap = snapshot(window(rows("lstm", 20, energy_uj=1_000.0, noise=1.0)), state(config))
    analysis = analyse_switch(monitor_switch(snap, config), snap, config)
    rng = random.Random(2024)
    draws = 20_000
    explored = sum(plan_switch(analysis, snap, config, rng).reason == "explore" for _ in range(draws))
    assert explored / draws == pytest.approx(0.1, abs=0.01)


def test_exploring_run_still_accounts_for_the_window() -> None:
    config = make_config(explore_probability=1.0)
    snap = snapshot(window(rows("lstm", 20, energy_uj=1_000.0, noise=50.0), last_row_id=77), state(config))
    analysis, plan = run(snap, config)
    assert plan.reason == "explore" and plan.target != "lstm"
    assert analysis.state.ema["lstm"] != 0.82 and analysis.state.last_row_id == 77
    assert analysis.current is not None and plan.r2 == analysis.current.r2


# --- State ---------------------------------------------------------------------------------


def test_initial_state_is_the_published_start() -> None:
    config = make_config(budget_rule="published")
    start = initial_switch_state(config, ["lstm", "svm", "linear", "newkind"])
    assert dict(start.ema) == {"lstm": 0.82, "svm": 0.79, "linear": 0.75, "newkind": 0.75}
    assert (start.budget, start.recovery, start.last_row_id) == (1.0, 0, 0)


def test_state_round_trips_and_damage_is_named() -> None:
    config = make_config()
    start = state(config, recovery=2, last_row_id=12)
    assert decode_switch_state(encode_switch_state(start)) == start
    with pytest.raises(WorkspaceError, match="budget"):
        decode_switch_state({**encode_switch_state(start), "budget": "lots"})
    with pytest.raises(WorkspaceError, match="recovery"):
        decode_switch_state({**encode_switch_state(start), "recovery": -1})
    with pytest.raises(WorkspaceError, match="last_row_id"):
        decode_switch_state({k: v for k, v in encode_switch_state(start).items() if k != "last_row_id"})
