"""Policies: the switch loop's Plan as a plug-in, its own state kept across runs and restarts, and
the discounted-UCB bandit."""

from __future__ import annotations

import random

import pytest

from harmone import policies
from harmone.approaches import APPROACHES, get_approach
from harmone.config import Config, from_mapping, render
from harmone.errors import ConfigError
from harmone.knowledge import Action, Decision, KnowledgeStore
from harmone.mape.analyse import analyse_switch
from harmone.mape.monitor import monitor_switch
from harmone.mape.plan import SwitchPlan
from harmone.mape.switch_loop import SwitchLoop
from harmone.policies.bandit import Arms, DiscountedUCB
from harmone.policies.base import Policy
from harmone.testing import FakeMeter

from test_loops import _add_version, normal, rows
from conftest import FAST_CONFIG, PUBLISHED_MODELS, make_workspace
from test_mape_switch import make_config, snapshot, window
from test_mape_switch import rows as batch_rows
from harmone.mape.snapshot import initial_switch_state


@pytest.fixture
def ws(tmp_path):
    """linear and svm trained, linear serves (as in test_loops)."""
    workspace = make_workspace(tmp_path / "ws", config_edits={**FAST_CONFIG, **PUBLISHED_MODELS})
    _add_version(workspace, "linear", normal(200, 600))
    _add_version(workspace, "svm", normal(200, 600, seed=1))
    workspace.write_active_model("linear")
    return workspace


def test_every_approach_names_its_policy_and_the_policy_names_its_loops() -> None:
    for name in ("harmone", "switch", "switch+retrain", "bandit"):
        approach = get_approach(name)
        assert approach.policy == name and approach.loops == policies.policy_class(name).loops
    assert {a.policy for a in APPROACHES.values() if a.fixed_model is not None} == {"fixed"}
    assert get_approach("bandit").loops == {"switch", "drift"}


class EveryOther(Policy):
    """Switches between the served kinds on every second run; counts its runs in its own state."""

    name = "every-other"
    description = "test policy"

    def plan(self, analysis, snapshot, config, rng, state):
        runs = int((state or {}).get("runs", 0)) + 1
        others = [k for k in snapshot.available_models if k != snapshot.current_model]
        act = runs % 2 == 0 and others
        plan = SwitchPlan(action=Action.SWITCH if act else Action.NONE, source=snapshot.current_model,
                          target=others[0] if act else None, reason=Decision.EXPLORE if act else Decision.OK,
                          violation=None, r2=None, normalised_energy=None, ema=analysis.ema,
                          budget=analysis.state.budget, recovery=analysis.state.recovery)
        return plan, {"runs": runs}


def test_a_policy_plans_the_switch_loop_and_its_state_survives_a_restart(ws) -> None:
    with KnowledgeStore(ws.db_path) as store:
        loop = SwitchLoop(workspace=ws, store=store, meter=FakeMeter(), config=ws.config, now=0.0,
                          rng=random.Random(0), policy=EveryOther())
        store.append_predictions(rows("linear", normal(200, 50)))
        assert loop.run(loop.next_due_s).action == "none"
        assert store.get_state("switch_loop")["policy"] == {"runs": 1}
        again = SwitchLoop(workspace=ws, store=store, meter=FakeMeter(), config=ws.config, now=0.0,
                           rng=random.Random(0), policy=EveryOther())
        event = again.run(again.next_due_s)
        assert (event.action, event.model, event.decision) == ("switch", "svm", "explore")
        assert store.get_state("switch_loop")["policy"] == {"runs": 2}


def test_the_published_policy_stores_no_state_of_its_own(ws) -> None:
    with KnowledgeStore(ws.db_path) as store:
        loop = SwitchLoop(workspace=ws, store=store, meter=FakeMeter(), config=ws.config, now=0.0,
                          rng=random.Random(0))
        loop.run(loop.next_due_s)
        assert "policy" not in store.get_state("switch_loop")  # the stored layout is as before


# -- the bandit -------------------------------------------------------------------------------

def bandit_run(state, arms_state, *, current: str, noise: float, energy_uj: float, config: Config):
    snap = snapshot(window(batch_rows(current, 200, energy_uj=energy_uj, noise=noise)), state, current=current)
    analysis = analyse_switch(monitor_switch(snap, config), snap, config)
    bandit = DiscountedUCB()
    arms_state = arms_state if arms_state is not None else bandit.initial_state(snap, config)
    plan, arms_state = bandit.plan(analysis, snap, config, random.Random(0), arms_state)
    return plan, analysis, arms_state


def test_the_bandit_keeps_the_model_that_pays_and_leaves_one_that_stopped_paying() -> None:
    config = make_config()
    state = initial_switch_state(config, ("linear", "lstm", "svm"))
    # lstm serves accurately at low energy: it pays, so it stays.
    plan, analysis, arms = bandit_run(state, None, current="lstm", noise=1.0, energy_uj=100.0, config=config)
    assert plan.action is Action.NONE and plan.reason is Decision.OK
    assert arms["plays"]["lstm"] == pytest.approx(3 * 0.95 + 1) and arms["plays"]["svm"] == pytest.approx(3 * 0.95)
    # Then it stops paying (large errors, top energy): a few rounds later another model is chosen.
    decisions = []
    state = analysis.state
    for _ in range(10):
        plan, analysis, arms = bandit_run(state, arms, current="lstm", noise=400.0, energy_uj=25_000.0, config=config)
        state = analysis.state
        decisions.append(plan.action)
        if plan.action is Action.SWITCH:
            break
    assert decisions[-1] is Action.SWITCH and plan.target in {"linear", "svm"}
    assert Arms.from_state(arms).mean("lstm") < Arms.from_state(arms).mean(plan.target)


def test_the_bandit_is_deterministic_and_draws_nothing_at_random() -> None:
    config = make_config(explore_probability=1.0)  # the published coin would always explore
    state = initial_switch_state(config, ("linear", "lstm", "svm"))
    first = bandit_run(state, None, current="lstm", noise=1.0, energy_uj=100.0, config=config)
    second = bandit_run(state, None, current="lstm", noise=1.0, energy_uj=100.0, config=config)
    assert first[0] == second[0] and first[2] == second[2] and first[0].action is Action.NONE


def test_the_bandit_needs_evidence_to_plan() -> None:
    config = make_config()
    state = initial_switch_state(config, ("linear", "lstm", "svm"))
    snap = snapshot(window(), state, current="lstm")
    analysis = analyse_switch(monitor_switch(snap, config), snap, config)
    plan, arms = DiscountedUCB().plan(analysis, snap, config, random.Random(0), None)
    assert plan.reason is Decision.NO_DATA and plan.action is Action.NONE and arms == {"plays": {}, "rewards": {}}


def test_the_bandit_constants_live_in_harmone_toml_and_are_checked() -> None:
    text = render(Config())
    assert "[policies.bandit]\ndiscount = 0.95\nexploration = 0.6\nreward_bound = 0.2\nprior_plays = 3.0\n" in text
    config = from_mapping({"policies": {"bandit": {"discount": 0.5}}})
    assert DiscountedUCB.params(config)["discount"] == 0.5
    with pytest.raises(ConfigError, match=r"\[policies.bandit\]: discount = 1.5 is out of range"):
        from_mapping({"policies": {"bandit": {"discount": 1.5}}})
    with pytest.raises(ConfigError, match=r"\[policies.nope\]: unknown policy 'nope'"):
        from_mapping({"policies": {"nope": {}}})


def test_the_bandit_is_selectable_beside_the_nine_but_not_among_them() -> None:
    from harmone import experiment
    from harmone.approaches import DEFAULT_APPROACHES

    assert "bandit" not in DEFAULT_APPROACHES and len(DEFAULT_APPROACHES) == 9
    assert experiment.parse_approaches("all,bandit") == [*DEFAULT_APPROACHES, "bandit"]
    assert experiment.parse_approaches("bandit,harmone") == ["bandit", "harmone"]
