from __future__ import annotations

from pathlib import Path

import pytest

from harmone import config
from harmone.config import Config
from harmone.errors import ConfigError
from harmone.models import published_models
from harmone.workspace import Workspace


def test_defaults_are_the_published_constants() -> None:
    c = Config()
    assert (c.stream.input_length, c.stream.interval_s, c.stream.train_ratio, c.stream.fit_fraction) == (5, 0.15, 0.1, 0.8)
    # Loop timings default to the published seconds in predictions at the 0.15 s cadence.
    assert (c.switch.interval_steps, c.switch.beta, c.switch.gamma) == (267, 0.95, 0.8)
    assert c.switch.initial_ema == {"lstm": 0.82, "svm": 0.79, "linear": 0.75}
    assert (c.switch.explore_probability, c.switch.max_energy, c.switch.recovery_cycles) == (0.1, 1.0, 3)
    assert (c.drift.interval_steps, c.drift.warmup_steps, c.drift.window, c.drift.bins) == (20, 2667, 1200, 50)
    assert (c.drift.threshold, c.drift.reuse_threshold, c.drift.kl_clip, c.drift.cooldown_steps) == (0.75, 0.75, 10.0, 2667)
    assert (c.retrain.interval_steps, c.retrain.training_values) == (3333, 1500)
    assert (c.switch.interval_s, c.drift.warmup_s, c.drift.cooldown_s, c.retrain.interval_s) == (None,) * 4
    # The published loops (seconds, R² score and its minimum) are one call away.
    pub = config.published_loops(c)
    assert (pub.switch.interval_s, pub.switch.score, pub.switch.min_score) == (40.0, "r2", 0.78)
    assert (pub.drift.interval_s, pub.drift.warmup_s, pub.drift.cooldown_s, pub.retrain.interval_s) == (3.0, 400.0, 400.0, 500.0)
    assert pub.switch.interval_steps is None and pub.stream.models == ("lstm", "svm", "linear")
    assert (c.energy.e_min_uj, c.energy.e_max_uj) == (0.0, 25000.0)
    # The published model settings are one setting away (what --published-constants selects).
    p = c.replace(models=published_models(c.models))
    assert p.model_params("linear") == {"alpha": 256.0, "inputs": "minmax", "select": "fixed", "context": 0}
    assert p.model_params("linear", retrain=True)["alpha"] == 200.0
    assert p.model_params("svm")["C"] == 0.05 and p.model_params("svm")["tol"] == 0.16
    assert p.model_params("svm")["inputs"] == p.model_params("lstm")["inputs"] == "minmax"
    lstm = p.model_params("lstm")
    assert (lstm["hidden_size"], lstm["learning_rate"], lstm["batch_size"], lstm["epochs"]) == (50, 0.001, 16, 50)


def test_rendered_file_round_trips_to_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "harmone.toml"
    path.write_text(config.render())
    assert config.load(path) == Config(models=config.load(path).models)
    loaded = config.load(path)
    assert loaded.model_params("linear", retrain=True) == {**Config().model_params("linear"), "alpha": 200.0}
    assert loaded.switch == Config().switch


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[switch]\nbeta = 1.5\n", "[switch]: beta = 1.5 is out of range"),
        ("[switch]\nbeta = 'high'\n", "[switch]: beta must be float"),
        ("[switch]\nbetta = 0.5\n", "unknown key 'betta'"),
        ("[swtich]\nbeta = 0.5\n", "unknown section [swtich]"),
        ("[drift]\nwindow = 1.5\n", "[drift]: window must be int"),
        ("[energy]\nmeter = 'magic'\n", "meter = 'magic' is not one of"),
        ("[stream]\ninterval_s = 0\n", "interval_s = 0.0 is out of range (must be > 0)"),
        ("[models.lstm]\nepochs = 0\n", "epochs"),
        ("[models.lstm]\nepoch = 3\n", "unknown key 'epoch'"),
        ("[models.forest]\ntrees = 3\n", "unknown model kind 'forest'"),
        ("[switch\n", "not valid TOML"),
    ],
)
def test_bad_config_is_an_error_naming_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "harmone.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_init_is_idempotent_and_never_clobbers(tmp_path: Path) -> None:
    workspace, created = Workspace.init(tmp_path / "ws")
    assert created
    for sub in ("models", "versionedMR", "knowledge", "data"):
        assert (workspace.root / sub).is_dir()
    text = workspace.config_path.read_text().replace("beta = 0.95", "beta = 0.9")
    workspace.config_path.write_text(text)
    again, created = Workspace.init(workspace.root)
    assert not created
    assert again.config.switch.beta == 0.9


def test_open_refuses_a_directory_that_is_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not a HarmonE workspace"):
        Workspace.open(tmp_path)


@pytest.mark.parametrize(("text", "names"), [
    ("[energy]\ne_min_uj = 30000\n", ("[energy]", "e_min_uj = 30000.0", "e_max_uj = 25000.0")),
    ("[energy]\ne_min_uj = 5.0\ne_max_uj = 5.0\n", ("e_min_uj", "e_max_uj")),
    ("[switch]\nenergy_goal = 0.8\nbudget_max = 0.5\n", ("[switch]", "energy_goal", "budget_max")),
    ("[stream]\ninput_length = 100\n[drift]\nwindow = 50\n", ("[drift]", "window = 50", "stream.input_length")),
    ("[stream]\nwindow = 20\n[retrain]\ntraining_values = 20\n", ("[retrain]", "training_values", "stream.input_length")),
    ("[drift]\nreuse_threshold = 11.0\n", ("reuse_threshold", "kl_clip")),
    ("[stream]\ndefault_model = \"xgboost\"\n", ("default_model", "xgboost")),
    ("[switch]\ninitial_ema = { lstm = 0.8, lstn = 0.7 }\n", ("[switch]", "initial_ema", "lstn")),
])
def test_settings_valid_alone_but_not_together_are_one_line_naming_both(tmp_path: Path, text: str,
                                                                        names: tuple[str, ...]) -> None:
    path = tmp_path / "harmone.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert all(name in message for name in names), message


def test_the_published_budget_rule_has_no_budget_max_to_respect(tmp_path: Path) -> None:
    path = tmp_path / "harmone.toml"
    path.write_text("[switch]\nbudget_rule = \"published\"\nenergy_goal = 0.8\nbudget_max = 0.5\n", encoding="utf-8")
    assert config.load(path).switch.energy_goal == 0.8


def test_the_old_name_of_retrain_training_values_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "harmone.toml"
    path.write_text("[retrain]\nwindow = 300\n", encoding="utf-8")
    assert config.load(path).retrain.training_values == 300
    path.write_text("[stream]\nwindow = 7\n", encoding="utf-8")
    assert config.load(path).stream.input_length == 7
    path.write_text("[retrain]\nwindow = 300\ntraining_values = 400\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="one setting"):
        config.load(path)


def test_a_file_with_min_score_but_no_score_keeps_the_r2_score_it_was_written_for() -> None:
    from harmone.config import from_mapping

    old = from_mapping({"switch": {"min_score": 0.78}})
    assert (old.switch.score, old.switch.min_score) == ("r2", 0.78)
    assert from_mapping({"switch": {"min_score": 0.1, "score": "skill"}}).switch.score == "skill"
    assert from_mapping({}).switch.score == "skill"


def test_the_published_detector_has_its_settings_in_one_place() -> None:
    from harmone.config import from_mapping

    with pytest.raises(ConfigError, match=r"\[detectors.window-kl\]: the window-kl settings are \[drift\] window"):
        from_mapping({"detectors": {"window-kl": {"window": 50}}})
    config = from_mapping({"drift": {"window": 300}})
    assert config.detector_params("window-kl")["window"] == 300
