"""The Decision Map: every goal, threshold and interval of HarmonE, validated on load.

Defaults are the published constants (DESIGN section 2), except fixes that
``harmone experiment --published-constants`` turns off: a calibrated energy range, a budget
that can be exceeded, validated adaptation, a drift answered by a model within the energy
goal, the skill switch score and persistence among the served kinds. Loop timings default
to the published seconds counted in predictions; the published mode keeps the seconds. ``harmone.toml`` in a workspace
overrides them; an unknown key, a wrong type or an out-of-range value is an error that
names the file, the section and the key.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harmone.errors import ConfigError
from harmone.params import Constraint, Interval, Names, NumberTable, Options, OfType, validate

CONFIG_FILE = "harmone.toml"
#: Largest seed of any command or setting: numpy's seeding (and so every seeded library) takes 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1
#: Longest stream cadence, seconds (a week between predictions): every clock can sleep it.
MAX_INTERVAL_S = 7 * 24 * 3600.0
#: Time scales a live run accepts (``--time-scale``): 1000 times slower to a million times faster,
#: so the longest cadence stays a finite sleep.
TIME_SCALE_RANGE = (1e-3, 1e6)
#: Longest loop timing given in seconds (a year).
MAX_TIMING_S = 365 * 24 * 3600.0


def _setting(default: Any, doc: str, *, lo: float | None = None, hi: float | None = None,
             lo_open: bool = False, hi_open: bool = False, choices: tuple[str, ...] | None = None,
             kind: type | None = None) -> Any:
    """One documented setting and its constraint (``harmone.params``): a number within ``lo`` .. ``hi``,
    one of ``choices``, or any value of its type; ``kind`` types a setting whose default is None
    (not in effect)."""
    meta = {"doc": doc, "constraint": _constraint(kind or type(default), lo, hi, lo_open, hi_open, choices)}
    if isinstance(default, (dict, tuple)):
        if isinstance(default, tuple):
            return field(default=default, metadata=meta)
        return field(default_factory=lambda: dict(default), metadata=meta)
    return field(default=default, metadata=meta)


def _constraint(expected: type, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool,
                choices: tuple[str, ...] | None) -> Constraint:
    if expected is tuple:
        return Names()
    if expected is dict:
        return NumberTable()
    if choices:
        return Options(choices)
    if expected in (int, float):
        closed = {(False, False): "both", (False, True): "left", (True, False): "right", (True, True): "neither"}
        return Interval(expected, lo, hi, closed=closed[lo_open, hi_open])
    return OfType(expected)


@dataclass(frozen=True)
class StreamConfig:
    task: str = _setting("forecasting", "what the stream's records are: forecasting (a series, each value predicted "
                                        "from the ones before) or classification (features and a label); "
                                        "docs/tasks.md")
    input_length: int = _setting(5, "past values each prediction reads (the key was once `window`, still read)",
                                 lo=1, hi=1000)
    interval_s: float = _setting(0.15, "stream cadence: seconds between predictions", lo=0, hi=MAX_INTERVAL_S,
                                 lo_open=True)
    train_ratio: float = _setting(0.1, "leading share of the data used for the first training",
                                 lo=0, hi=1, lo_open=True, hi_open=True)
    fit_fraction: float = _setting(0.8, "share of a training set that fits; the rest is held out",
                                  lo=0, hi=1, lo_open=True, hi_open=True)
    default_model: str = _setting("lstm", "model served when knowledge/model.csv is missing")
    label_delay: int = _setting(0, "records between a prediction and the arrival of its true value or label: the "
                                   "loops judge only labelled predictions, the knowledge base keeps the others "
                                   "pending", lo=0, hi=1_000_000)
    flush_rows: int = _setting(64, "predictions buffered before they are written to the knowledge base", lo=1, hi=100000)
    model_check_s: float = _setting(1.0, "stream seconds between two checks of which model and version serve (also "
                                         "checked before the first prediction of every stored batch): a switch or "
                                         "promotion is served within this", lo=0, hi=3600)
    models: tuple[str, ...] = _setting(("lstm", "svm", "linear", "persistence"),
                                       "model kinds this deployment serves: `harmone train` trains them, the switch "
                                       "loop chooses among them (persistence is the bar a batch is judged against; "
                                       "add seasonal for a strongly seasonal series; docs/algorithm.md)")


@dataclass(frozen=True)
class EnergyConfig:
    meter: str = _setting("auto", "energy meter: auto (RAPL where readable, else the CPU-time estimate), rapl, "
                                  "estimator, fake, or a meter plugin's name (`harmone plugins`)")
    watts_per_core: float = _setting(15.0, "estimator: power of one fully busy core, watts", lo=0, lo_open=True)
    normalisation: str = _setting("calibrated", "energy range for the score: calibrated or published",
                                  choices=("calibrated", "published"))
    e_min_uj: float = _setting(0.0, "published lower end of energy per prediction, µJ", lo=0)
    e_max_uj: float = _setting(25000.0, "published upper end of energy per prediction, µJ", lo=0, lo_open=True)
    calibration_predictions: int = _setting(200, "calibration: predictions measured per model kind", lo=1, hi=100000)
    calibration_gap_s: float = _setting(0.01, "calibration: idle seconds before each prediction, so it runs as cold "
                                              "as a live one after the stream's wait (0: back to back)", lo=0, hi=10)
    live_correction: bool = _setting(True, "scale the calibrated range by live over calibrated model energy of the "
                                           "recent rows, so live serving conditions and calibration share one "
                                           "basis (false: the calibration as measured)")
    correction_rows: int = _setting(5000, "live correction: the newest rows it is measured over", lo=1, hi=10_000_000)


@dataclass(frozen=True)
class SwitchConfig:
    interval_steps: int | None = _setting(267, "period of the switch loop (t1), predictions (or interval_s)",
                                          lo=1, kind=int)
    interval_s: float | None = _setting(None, "period of the switch loop (t1), seconds (or interval_steps)",
                                        lo=0, hi=MAX_TIMING_S, lo_open=True, kind=float)
    score: str = _setting("skill", "score of a window: skill (over persistence on the window, clipped to [-1, 1]) "
                                   "or r2 (published; unbounded below on a calm window)", choices=("skill", "r2"))
    beta: float = _setting(0.95, "weight of R² against energy in the score", lo=0, hi=1)
    gamma: float = _setting(0.8, "EMA weight of the newest score", lo=0, hi=1)
    min_score: float = _setting(0.0, "an EMA below this is a score violation (published: 0.78, on the R² scale)",
                                lo=-1e9)
    explore_probability: float = _setting(0.1, "chance of switching to a random other model", lo=0, hi=1)
    max_energy: float = _setting(1.0, "normalised energy goal feeding the dynamic budget", lo=0)
    budget_gain: float = _setting(0.95, "budget update T <- T + gain * (max_energy - e)", lo=0)
    recovery_cycles: int = _setting(3, "runs without switching after an energy violation", lo=0, hi=1000)
    budget_rule: str = _setting("bounded", "energy budget: published (can never fire with max_energy 1) or bounded",
                                choices=("published", "bounded"))
    energy_goal: float = _setting(0.5, "bounded rule: target mean normalised energy", lo=0, hi=1)
    energy_target: str = _setting("cheaper", "an energy violation switches to the best-EMA model that is cheaper by "
                                             "the calibration (cheaper) or to any other (any, as published)",
                                  choices=("cheaper", "any"))
    budget_max: float = _setting(1.0, "bounded rule: upper bound and start value of the budget", lo=0)
    initial_ema: dict[str, float] = _setting({"lstm": 0.82, "svm": 0.79, "linear": 0.75},
                                             "starting score EMA per model kind (score = r2; the skill score "
                                             "starts each model at its version's held-out skill)")
    default_initial_ema: float = _setting(0.75, "starting EMA for a kind not listed in initial_ema")
    quiet_every: int = _setting(16, "where a drift loop runs: at most this many switch periods between runs while "
                                   "its detector sees nothing building up, graded like drift.quiet_every (1: every "
                                   "period, as published)", lo=1, hi=1000)


@dataclass(frozen=True)
class DriftConfig:
    interval_steps: int | None = _setting(20, "period of the drift loop (t2), predictions (or interval_s)",
                                          lo=1, kind=int)
    interval_s: float | None = _setting(None, "period of the drift loop (t2), seconds (or interval_steps)",
                                        lo=0, hi=MAX_TIMING_S, lo_open=True, kind=float)
    warmup_steps: int | None = _setting(2667, "wait before the first drift check, predictions (or warmup_s)",
                                        lo=0, kind=int)
    warmup_s: float | None = _setting(None, "wait before the first drift check, seconds (or warmup_steps)",
                                      lo=0, hi=MAX_TIMING_S, kind=float)
    detector: str = _setting("window-kl", "drift detector, by name: window-kl (the published windowed KL: window, "
                                           "bins, epsilon and threshold below) or any other registered detector "
                                           "(page-hinkley, adwin, cusum), its settings in [detectors.<name>]")
    feed: str = _setting("values", "what the detector is fed: values (the true values, as published) or errors "
                                   "(the absolute error of each served prediction)", choices=("values", "errors"))
    window: int = _setting(1200, "true values per compared window", lo=2)
    bins: int = _setting(50, "histogram bins for the KL divergence", lo=2, hi=10000)
    epsilon: float = _setting(1e-10, "added to histogram probabilities to avoid zeros", lo=0, lo_open=True)
    threshold: float = _setting(0.75, "KL above this is drift (a later tool version used 0.5)", lo=0)
    reuse_threshold: float = _setting(0.75, "reuse a stored version when its KL to the drift data is below this", lo=0)
    kl_clip: float = _setting(10.0, "KL values are clipped to [0, kl_clip] when versions are compared", lo=0, lo_open=True)
    cooldown_steps: int | None = _setting(2667, "wait after acting on drift, predictions (or cooldown_s)",
                                          lo=0, kind=int)
    cooldown_s: float | None = _setting(None, "wait after acting on drift, seconds (or cooldown_steps)",
                                        lo=0, hi=MAX_TIMING_S, kind=float)
    validate: bool = _setting(True, "promote a reused or retrained version only if it predicts the newest data "
                                    "no worse than the serving one (false: always, as published)")
    target: str = _setting("frugal", "model a drift adapts: serving (as published) or frugal (the serving one only "
                                      "within switch.energy_goal, else the best-scoring model that is)",
                           choices=("serving", "frugal"))
    trigger: str = _setting("none", "cheap detector that arms the drift check: none (the detector judges every "
                                    "check, as published) or a registered detector name (its settings in "
                                    "[detectors.<name>]) fed trigger_feed; the detector judges only while armed")
    trigger_feed: str = _setting("errors", "what the trigger is fed: errors (of the served predictions: a trend "
                                           "the model follows is no drift) or values", choices=("values", "errors"))
    quiet_every: int = _setting(24, "at most this many drift periods between checks while nothing builds up: "
                                    "graded by the detector's score, or while the trigger is quiet (1: every "
                                    "period, as published)", lo=1, hi=1000)
    quiet_below: float = _setting(0.5, "without a trigger, scores below this share of the detector's threshold "
                                       "lengthen the wait between checks, the lower the longer", lo=0, hi=1)
    split_regime: bool = _setting(True, "keep only the drift window after its located change point as the data "
                                         "to compare versions with and retrain on (false: the whole window, as "
                                         "published)")
    reuse_scope: str = _setting("all", "stored versions a drift may reuse: target (the answering model's, as "
                                          "published) or all (every kind within switch.energy_goal)",
                                choices=("target", "all"))
    beat_persistence: bool = _setting(True, "validation also refuses a candidate that predicts the newest data "
                                             "worse than persistence (false: only the serving version, as published)")


@dataclass(frozen=True)
class RetrainConfig:
    interval_steps: int | None = _setting(3333, "period of periodic retraining (t3), predictions (or interval_s)",
                                          lo=1, kind=int)
    interval_s: float | None = _setting(None, "period of periodic retraining (t3), seconds (or interval_steps)",
                                        lo=0, hi=MAX_TIMING_S, lo_open=True, kind=float)
    training_values: int = _setting(1500, "latest true values used as training data (the key was once "
                                          "`window`, still read)", lo=10)
    validate: bool = _setting(False, "promote a retrained version only if it predicts the newest data no worse "
                                     "than the serving one (false: always, as published for this baseline)")
    warm_start: bool = _setting(True, "retrain a model kind that can (lstm) by fine-tuning the serving version "
                                       "for warm_epochs on the new data (false: from scratch, as published)")
    warm_epochs: int = _setting(5, "epochs of a warm-start retraining", lo=1, hi=10000)


@dataclass(frozen=True)
class RepositoryConfig:
    keep_versions: int = _setting(50, "stored versions kept per model kind after a retraining (the active one is "
                                      "always kept besides the newest)", lo=1)


@dataclass(frozen=True)
class Config:
    stream: StreamConfig = field(default_factory=StreamConfig)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    switch: SwitchConfig = field(default_factory=SwitchConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    repository: RepositoryConfig = field(default_factory=RepositoryConfig)
    #: Per model kind: hyperparameter overrides, and a ``retrain`` sub-table for retraining.
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per drift detector: settings overrides (``[detectors.<name>]``), validated by the detector.
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per policy: constants overrides (``[policies.<name>]``), validated by the policy.
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def model_params(self, kind: str, *, retrain: bool = False) -> dict[str, Any]:
        """Hyperparameters for training ``kind``: published defaults, then this config."""
        from harmone.models import model_class

        cls = model_class(kind)
        overrides = dict(self.models.get(kind, {}))
        retrain_overrides = overrides.pop("retrain", {})
        params = {**cls.default_params, **overrides}
        if retrain:
            params.update(cls.default_retrain_params)
            params.update(retrain_overrides)
        return params

    def detector_params(self, name: str) -> dict[str, Any]:
        """Every setting of drift detector ``name``: its defaults, then ``[detectors.<name>]``.

        Full settings, defaults filled in: ``[detectors.<name>]`` keeps only what differs
        from the defaults, and a reader such as the graded wait must see the threshold in
        effect either way. A detector with a ``settings_section`` (the published
        ``window-kl``: ``[drift]`` window, bins, epsilon and threshold, where the published
        constants have always been) takes them from there only. An unknown name raises
        ``DetectorError``.
        """
        from harmone import detectors

        cls = detectors.detector_class(name)
        if cls.settings_section is not None:
            section = getattr(self, cls.settings_section)
            return {key: getattr(section, key) for key in cls.default_params}
        return {**cls.default_params, **self.detectors.get(name, {})}

    def detector_setting(self, name: str, key: str) -> str:
        """Where setting ``key`` of detector ``name`` is written: ``[drift] window``, ``[detectors.adwin] delta``."""
        from harmone import detectors

        section = detectors.detector_class(name).settings_section
        return f"[{section or f'detectors.{name}'}] {key}"

    @property
    def task(self) -> Any:
        """The ``harmone.tasks.Task`` the stream's records belong to."""
        from harmone import tasks

        return tasks.get(self.stream.task)

    def initial_ema(self, kind: str) -> float:
        return self.switch.initial_ema.get(kind, self.switch.default_initial_ema)

    def replace(self, **sections: Any) -> Config:
        return dataclasses.replace(self, **sections)


_SECTIONS: dict[str, type] = {
    "stream": StreamConfig,
    "energy": EnergyConfig,
    "switch": SwitchConfig,
    "drift": DriftConfig,
    "retrain": RetrainConfig,
    "repository": RepositoryConfig,
}


#: Settings a running process keeps until it restarts, and why: a changed harmone.toml that
#: changes one of them is refused for that setting (``harmone.config_reload``).
FIXED_WHILE_RUNNING: dict[str, str] = {
    "stream.input_length": "it shapes the stored windows, versions and stream position",
    "stream.task": "it decides what the stream's records, models and stored versions are",
    "stream.label_delay": "predictions already waiting for their label were kept for the old delay",
    "energy.meter": "the meter is chosen when the process starts",
    "energy.watts_per_core": "the meter is built when the process starts",
}


#: Keys renamed since the first release, read under their old name too: section -> old -> new.
RENAMED_KEYS: dict[str, dict[str, str]] = {"stream": {"window": "input_length"},
                                           "retrain": {"window": "training_values"}}


#: Timings given in stream steps or in seconds, one of the two in effect: steps key -> seconds key.
TIMING_PAIRS: dict[str, str] = {"interval_steps": "interval_s", "warmup_steps": "warmup_s",
                                "cooldown_steps": "cooldown_s"}


def timing_pairs(section: Any) -> list[tuple[str, str]]:
    """The (steps, seconds) key pairs of a section (``[switch]``, ``[drift]``, ``[retrain]``)."""
    names = {f.name for f in dataclasses.fields(section)}
    return [(steps, secs) for steps, secs in TIMING_PAIRS.items() if steps in names and secs in names]


def _build_section(cls: type, raw: Mapping[str, Any], where: str, renamed: Mapping[str, str]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for old, new in renamed.items():
        if old in raw and new in raw:
            raise ConfigError(f"{where}: {old} and {new} are one setting ({old} is its old name); keep {new}")
    values = validate({name: f.metadata["constraint"] for name, f in fields.items()},
                      {renamed.get(key, key): value for key, value in raw.items()},
                      error=lambda message: ConfigError(f"{where}: {message}"))
    for steps, secs in TIMING_PAIRS.items():
        if steps in fields and secs in fields:
            if steps in values and secs in values:
                raise ConfigError(f"{where}: {steps} and {secs} are one timing, in predictions or in seconds; "
                                  f"give one of the two")
            if secs in values:
                values[steps] = None  # seconds given: the default in steps steps aside
    return cls(**values)


def _named_tables(raw: Any, source: str, section: str,
                  check_name: Callable[[str, str], None] | None = None) -> Iterator[tuple[str, dict[str, Any], str]]:
    """The ``[<section>.<name>]`` tables of a document: (name, table, where it is written for errors).

    ``check_name(name, where)`` refuses a name before its table is looked at.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [{section}] must be a table")
    for name, table in raw.items():
        where = f"{source} [{section}.{name}]"
        if check_name is not None:
            check_name(name, where)
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: must be a table")
        yield name, table, where


def _check_models(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    from harmone.models import kinds, model_class

    def known(kind: str, where: str) -> None:
        if kind not in kinds():
            raise ConfigError(f"{where}: unknown model kind {kind!r} (known: {', '.join(kinds())})")

    checked: dict[str, dict[str, Any]] = {}
    for kind, table, where in _named_tables(raw, source, "models", known):
        cls = model_class(kind)
        checked[kind] = {}
        for sub, params in (("", {k: v for k, v in table.items() if k != "retrain"}),
                            ("retrain", table.get("retrain", {}))):
            here = f"{where}" if not sub else f"{source} [models.{kind}.retrain]"
            if not isinstance(params, dict):
                raise ConfigError(f"{here}: must be a table")
            clean = validate(cls.parameter_constraints, params,
                             error=lambda message: ConfigError(f"{here}: {message}"))
            if sub:
                checked[kind]["retrain"] = clean
            else:
                checked[kind].update(clean)
    return checked


def _check_policies(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    """``[policies.<name>]`` tables: registered policies, constants each one declares."""
    from harmone import policies

    checked: dict[str, dict[str, Any]] = {}
    for name, table, where in _named_tables(raw, source, "policies"):
        try:
            cls = policies.policy_class(name)
            cls.check_params(table)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        changed = {key: value for key, value in table.items() if value != cls.default_params[key]}
        if changed:
            checked[name] = changed
    return checked


def _check_detectors(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    """``[detectors.<name>]`` tables: registered names, settings each detector accepts."""
    from harmone import detectors

    def not_elsewhere(name: str, where: str) -> None:
        section = _settings_section(name)
        if section is not None:
            keys = ", ".join(detectors.detector_class(name).default_params)
            raise ConfigError(f"{where}: the {name} settings are [{section}] {keys} (and only there)")

    checked: dict[str, dict[str, Any]] = {}
    for name, table, where in _named_tables(raw, source, "detectors", not_elsewhere):
        try:
            detectors.check_settings(name, table)
        except detectors.DetectorError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        defaults = detectors.detector_class(name).default_params
        changed = {key: value for key, value in table.items() if value != defaults[key]}
        if changed:
            checked[name] = changed
    return checked


def _settings_section(name: str) -> str | None:
    """The section a registered detector keeps its settings in instead of [detectors.<name>]."""
    from harmone import detectors

    try:
        return detectors.detector_class(name).settings_section
    except detectors.DetectorError:
        return None  # an unknown name: the settings check names it


def _scored_as_written(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """A file that sets ``min_score`` but names no ``score`` predates the skill score: R² it is.

    Its ``min_score`` (0.78 as published) is on the R² scale; read as a skill it would be a
    violation on nearly every run.
    """
    switch = raw.get("switch")
    if isinstance(switch, Mapping) and "min_score" in switch and "score" not in switch:
        return {**raw, "switch": {**switch, "score": "r2"}}
    return raw


def from_mapping(raw: Mapping[str, Any], source: str = CONFIG_FILE) -> Config:
    """Validate a parsed TOML document into a ``Config``."""
    raw = _scored_as_written(raw)
    sections: dict[str, Any] = {}
    for name, table in raw.items():
        if name == "models":
            sections["models"] = _check_models(table, source)
            continue
        if name == "detectors":
            sections["detectors"] = _check_detectors(table, source)
            continue
        if name == "policies":
            sections["policies"] = _check_policies(table, source)
            continue
        if name not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section [{name}] "
                              f"(known: {', '.join([*_SECTIONS, 'models', 'detectors', 'policies'])})")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        sections[name] = _build_section(_SECTIONS[name], table, f"{source} [{name}]", RENAMED_KEYS.get(name, {}))
    config = _task_defaults(Config(**sections), raw.get("stream"), source)
    check_across(config, source)
    return config


def for_task(config: Config, name: str) -> Config:
    """``config`` serving task ``name`` with the task's own kinds and default model."""
    from harmone import tasks

    task = tasks.get(name)
    sections = {section: dataclasses.replace(getattr(config, section), **values)
                for section, values in task.config_defaults.items()}
    return config.replace(stream=dataclasses.replace(config.stream, task=name, models=task.default_models,
                                                     default_model=task.default_model), **sections)


def _task_defaults(config: Config, stream: Any, source: str) -> Config:
    """A file that names a task but not the kinds to serve gets the task's own (``Task.default_models``)."""
    from harmone import tasks

    if config.stream.task not in tasks.names():
        raise ConfigError(f"{source} [stream]: task = {config.stream.task!r} is not a task "
                          f"(known: {', '.join(tasks.names())})")
    written = stream if isinstance(stream, Mapping) else {}
    task = config.task
    filled = {key: value for key, value in (("models", task.default_models), ("default_model", task.default_model))
              if key not in written}
    return config.replace(stream=dataclasses.replace(config.stream, **filled)) if filled else config


def check_across(config: Config, source: str = CONFIG_FILE) -> None:
    """Settings that are valid one by one but not together: one ``ConfigError`` naming both keys.

    Each pair is one a run would otherwise trip over later (every switch run raising, a
    drift check that can never be ready, a budget that starts below its own goal).
    """
    from harmone.models import kinds

    energy, switch, drift, retrain, stream = config.energy, config.switch, config.drift, config.retrain, config.stream
    served = config.task.kinds()
    from harmone.energy import meters

    known_meters = ["auto", *meters.names()]
    checks = (
        (energy.meter in known_meters, "[energy]",
         f"meter = {energy.meter!r} is not one of {', '.join(known_meters)}"),
        (energy.e_min_uj < energy.e_max_uj, "[energy]",
         f"e_min_uj = {energy.e_min_uj!r} must be below e_max_uj = {energy.e_max_uj!r}"),
        (switch.budget_rule != "bounded" or switch.energy_goal <= switch.budget_max, "[switch]",
         f"energy_goal = {switch.energy_goal!r} must not exceed budget_max = {switch.budget_max!r} "
         f"(the bounded budget starts at budget_max)"),
        (stream.default_model in served, "[stream]",
         f"default_model = {stream.default_model!r} is not a model kind of the {stream.task} task (known: {', '.join(served)})"),
        (set(switch.initial_ema) <= set(kinds()), "[switch]",
         f"initial_ema names {', '.join(sorted(set(switch.initial_ema) - set(kinds())))}, not a model kind "
         f"(known: {', '.join(kinds())})"),
        (drift.window * 2 <= 10_000_000, "[drift]", f"window = {drift.window} is too large"),
        (drift.window > stream.input_length + 1, "[drift]",
         f"window = {drift.window} must exceed stream.input_length + 1 = {stream.input_length + 1} (reused and retrained "
         f"versions are judged on windows of the drift data)"),
        (retrain.training_values > stream.input_length + 1, "[retrain]",
         f"training_values = {retrain.training_values} must exceed stream.input_length + 1 = {stream.input_length + 1} "
         f"(a retraining needs windows to fit)"),
        (drift.reuse_threshold <= drift.kl_clip, "[drift]",
         f"reuse_threshold = {drift.reuse_threshold!r} must not exceed kl_clip = {drift.kl_clip!r} "
         f"(a version's KL is clipped there, so every version would look close)"),
    )
    for ok, section, message in checks:
        if not ok:
            raise ConfigError(f"{source} {section}: {message}")
    for name in ("switch", "drift", "retrain"):
        section = getattr(config, name)
        for steps, secs in timing_pairs(section):
            if (getattr(section, steps) is None) == (getattr(section, secs) is None):
                raise ConfigError(f"{source} [{name}]: exactly one of {steps} and {secs} must be set")
    unknown = [kind for kind in stream.models if kind not in served]
    if unknown:
        raise ConfigError(f"{source} [stream]: models names {', '.join(unknown)}, not a model kind of the {stream.task} task "
                          f"(known: {', '.join(served)})")
    from harmone import detectors

    try:
        detectors.check_settings(drift.detector, config.detector_params(drift.detector))
    except detectors.DetectorError as exc:
        raise ConfigError(f"{source} [drift]: detector = {drift.detector!r}: {exc}") from None
    if drift.trigger != "none":
        try:
            detectors.check_settings(drift.trigger, config.detector_params(drift.trigger))
        except detectors.DetectorError as exc:
            raise ConfigError(f"{source} [drift]: trigger = {drift.trigger!r}: {exc}") from None


def load(path: Path) -> Config:
    """Read and validate a workspace configuration file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        if text.startswith("\ufeff"):
            raise ConfigError(f"{path}: starts with a byte order mark (UTF-8 BOM, bytes EF BB BF), which TOML does"
                              f" not allow; save the file as UTF-8 without BOM")
        raw = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found (run `harmone init`)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror or exc})") from None
    return from_mapping(raw, str(path))


def settings(config: Config) -> dict[str, Any]:
    """Every setting in effect by its dotted name: ``switch.beta``, ``models.lstm.epochs``,
    ``models.lstm.retrain.epochs``, ``detectors.adwin.delta`` (defaults included), so two
    configurations compare setting by setting (a running process names what changed)."""
    from harmone import detectors
    from harmone.models import kinds

    flat: dict[str, Any] = {}
    for name in _SECTIONS:
        section = getattr(config, name)
        flat.update({f"{name}.{f.name}": getattr(section, f.name) for f in dataclasses.fields(section)})
    for kind in kinds():
        flat.update({f"models.{kind}.{key}": value for key, value in config.model_params(kind).items()})
        flat.update({f"models.{kind}.retrain.{key}": value
                     for key, value in config.model_params(kind, retrain=True).items()})
    for name in detectors.names():
        if _settings_section(name) is None:  # else they are keys of a section, listed above
            flat.update({f"detectors.{name}.{key}": value for key, value in config.detector_params(name).items()})
    from harmone import policies

    for name in policies.names():
        flat.update({f"policies.{name}.{key}": value for key, value in policies.policy_class(name).params(config).items()})
    return flat


def with_settings(config: Config, values: Mapping[str, Any]) -> Config:
    """``config`` with some ``section.key`` settings (of the sections above) set to ``values``."""
    sections: dict[str, dict[str, Any]] = {}
    for dotted, value in values.items():
        section, _, key = dotted.partition(".")
        if section not in _SECTIONS or key not in {f.name for f in dataclasses.fields(_SECTIONS[section])}:
            raise ValueError(f"{dotted!r} is not a setting of a section ({', '.join(_SECTIONS)})")
        sections.setdefault(section, {})[key] = value
    return config.replace(**{name: dataclasses.replace(getattr(config, name), **values)
                             for name, values in sections.items()})


def _toml_value(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


def render(config: Config | None = None) -> str:
    """The configuration as commented TOML, every setting spelled out."""
    from harmone.models import kinds, model_class

    config = config or Config()
    lines = ["# HarmonE configuration (the Decision Map). Defaults are the published constants, except",
             "# energy.normalisation and its live correction, switch.budget_rule and energy_target,",
             "# drift.validate and drift.target, the switch score",
             "# (skill over persistence) and the served kinds (persistence too); loop timings are the published",
             "# seconds counted in predictions (docs/algorithm.md says why).", ""]
    for name in _SECTIONS:
        section = getattr(config, name)
        lines.append(f"[{name}]")
        for f in dataclasses.fields(section):
            lines.append(f"# {f.metadata['doc']}")
            value = getattr(section, f.name)
            if value is None:  # the other key of a steps/seconds pair is in effect
                lines.append(f"# {f.name} = (not set)")
            else:
                lines.append(f"{f.name} = {_toml_value(value)}")
        lines.append("")
    for kind in kinds():
        cls = model_class(kind)
        params = config.model_params(kind)
        lines.append(f"[models.{kind}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in params.items())
        lines.append("")
        retrain = {k: v for k, v in config.model_params(kind, retrain=True).items() if params.get(k) != v}
        retrain = {**{k: v for k, v in cls.default_retrain_params.items()}, **retrain}
        if retrain:
            lines.append(f"[models.{kind}.retrain]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in retrain.items())
            lines.append("")
    from harmone import detectors

    for name in detectors.names():
        if _settings_section(name) is not None:
            continue  # its settings are keys of a section above ([drift] for the published one)
        lines.append(f"# settings of the {name} detector (used when [drift] detector = {_toml_value(name)})")
        lines.append(f"[detectors.{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in config.detector_params(name).items())
        lines.append("")
    from harmone import policies

    for name in policies.names():
        cls = policies.policy_class(name)
        if cls.default_params:
            lines.append(f"# constants of the {name} policy (used by the approach {_toml_value(name)}; docs/policies.md)")
            lines.append(f"[policies.{name}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in cls.params(config).items())
            lines.append("")
    return "\n".join(lines)


#: The published loop timings, in seconds at the published 0.15 s cadence: section -> key -> value.
PUBLISHED_TIMINGS_S: dict[str, dict[str, float]] = {
    "switch": {"interval_s": 40.0}, "drift": {"interval_s": 3.0, "warmup_s": 400.0, "cooldown_s": 400.0},
    "retrain": {"interval_s": 500.0}}


def published_loops(config: Config) -> Config:
    """The published loops: timings in seconds, the R² switch score and its 0.78 minimum, the three
    published kinds served. The step defaults fire one prediction later than the seconds at some
    runs (40 s is 266.7 predictions), so the published runs keep the seconds."""
    sections: dict[str, Any] = {}
    for name, timings in PUBLISHED_TIMINGS_S.items():
        steps_off = {steps: None for steps, secs in TIMING_PAIRS.items() if secs in timings}
        sections[name] = dataclasses.replace(getattr(config, name), **timings, **steps_off)
    sections["switch"] = dataclasses.replace(sections["switch"], score="r2", min_score=0.78)
    from harmone.models import PUBLISHED_KINDS

    sections["stream"] = dataclasses.replace(config.stream, models=PUBLISHED_KINDS)
    return config.replace(**sections)
