"""Loop timings in stream steps or seconds, what a short stream never sees, and the short preset.

Every loop timing is given in predictions (``interval_steps``) or in seconds
(``interval_s``), one of the two (``harmone.config`` checks). The loops keep time in clock
seconds, so steps become seconds at the stream cadence. A timing of n steps that starts a
wait (the first run, a warm-up, a cooldown) becomes (n - 1/2) cadences: the clock is a sum
of cadences that floating point leaves a hair above or below n cadences, and the half step
makes the loop fire after exactly the n-th prediction either way. A period between runs is
n cadences exactly, so the fixed-rate schedule keeps firing every n predictions.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from harmone import detectors
from harmone.config import TIMING_PAIRS, Config
from harmone.workspace import Workspace

#: Built-in configuration presets: section -> key -> value, applied over the defaults.
#: ``short``: every loop runs at least once on a stream of 1,000 test values.
PRESETS: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "short": {
        "switch": {"interval_steps": 50},
        "drift": {"interval_steps": 10, "warmup_steps": 200, "cooldown_steps": 200, "window": 100},
        "retrain": {"interval_steps": 250, "training_values": 200},
    },
}


def with_preset(config: Config, name: str) -> Config:
    """``config`` with preset ``name`` applied (a pair's seconds key is unset where steps are given)."""
    from harmone.config import check_across
    from harmone.errors import ConfigError

    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    sections = {}
    for section_name, values in PRESETS[name].items():
        section = getattr(config, section_name)
        values = dict(values)
        for key in list(values):
            if key in TIMING_PAIRS:
                values[TIMING_PAIRS[key]] = None
        sections[section_name] = dataclasses.replace(section, **values)
    config = config.replace(**sections)
    check_across(config, f"preset {name!r}")
    return config


def _timing(config: Config, section: str, name: str, *, start: bool) -> float:
    values = getattr(config, section)
    steps = getattr(values, f"{name}_steps")
    if steps is None:
        return float(getattr(values, f"{name}_s"))
    cadence = config.stream.interval_s
    return (steps - 0.5) * cadence if start else steps * cadence


@dataclass(frozen=True)
class Schedule:
    """The loops' timings in clock seconds: ``*_first_s`` start a wait, ``*_every_s`` are periods."""

    switch_first_s: float
    switch_every_s: float
    drift_warmup_s: float
    drift_every_s: float
    drift_cooldown_s: float
    retrain_first_s: float
    retrain_every_s: float

    @classmethod
    def of(cls, config: Config) -> Schedule:
        return cls(
            switch_first_s=_timing(config, "switch", "interval", start=True),
            switch_every_s=_timing(config, "switch", "interval", start=False),
            drift_warmup_s=_timing(config, "drift", "warmup", start=True),
            drift_every_s=_timing(config, "drift", "interval", start=False),
            drift_cooldown_s=_timing(config, "drift", "cooldown", start=True),
            retrain_first_s=_timing(config, "retrain", "interval", start=True),
            retrain_every_s=_timing(config, "retrain", "interval", start=False))


def steps_of(config: Config, section: str, name: str) -> int:
    """A timing in predictions: the step count, or the first step at which the seconds have passed."""
    values = getattr(config, section)
    steps = getattr(values, f"{name}_steps")
    if steps is not None:
        return int(steps)
    return math.ceil(getattr(values, f"{name}_s") / config.stream.interval_s - 1e-9)


@dataclass(frozen=True)
class Shortfall:
    """A loop that never does its work on a stream of ``n_steps`` predictions, and why."""

    loop: str
    needs_steps: int
    why: str
    setting: str


def shortfalls(config: Config, loops: Collection[str], n_steps: int) -> list[Shortfall]:
    """The loops among ``loops`` that never run (or never have the data to act) within ``n_steps``."""
    found: list[Shortfall] = []
    if "switch" in loops:
        first = steps_of(config, "switch", "interval")
        if first > n_steps:
            found.append(Shortfall("switch", first, f"first runs after {first:,}", "[switch] interval_steps"))
    if "drift" in loops:
        warmup = steps_of(config, "drift", "warmup")
        name = config.drift.detector
        full, key = detectors.detector_class(name).first_score_after(config.detector_params(name)) or (0, "")
        needs = max(warmup, full)
        if needs > n_steps:
            why = f"first checks after {warmup:,}" if warmup >= full else f"{name} scores after {full:,} values"
            setting = "[drift] warmup_steps" if warmup >= full else config.detector_setting(name, key)
            found.append(Shortfall("drift", needs, why, setting))
    if "retrain" in loops:
        first = steps_of(config, "retrain", "interval")
        needs = max(first, config.retrain.training_values)
        if needs > n_steps:
            why = (f"first runs after {first:,}" if first >= config.retrain.training_values
                   else f"needs {config.retrain.training_values:,} values")
            setting = ("[retrain] interval_steps" if first >= config.retrain.training_values
                       else "[retrain] training_values")
            found.append(Shortfall("retrain", needs, why, setting))
    return found


def explain(config: Config, loops: Collection[str], n_steps: int) -> str | None:
    """One line naming the loops that never run on ``n_steps`` predictions and what would make them run."""
    found = shortfalls(config, loops, n_steps)
    if not found:
        return None
    parts = "; ".join(f"{s.loop} {s.why} (lower {s.setting})" for s in found)
    return (f"on {n_steps:,} predictions these loops never run: {parts}; "
            f"or start from the short preset (`harmone init --preset short`)")


def workspace_note(workspace: Workspace, loops: Collection[str], steps: int | None = None,
                   config: Config | None = None) -> str | None:
    """``explain`` for the workspace's test stream (or ``steps`` predictions of it); None when
    every loop runs, or when there is no test stream yet."""
    from harmone.data.series import read_series
    from harmone.errors import HarmonEError

    config = config or workspace.config
    try:
        available = len(read_series(workspace.test_path)) - config.stream.input_length
    except (HarmonEError, OSError):
        return None
    n = available if steps is None else min(steps, available)
    return explain(config, loops, max(0, n))


def experiment_note(workspace: Workspace, approaches: Collection[str], steps: int | None, *,
                    published: bool = False) -> str | None:
    """``workspace_note`` over the loops of every approach compared (published timings if asked)."""
    from harmone.approaches import get_approach
    from harmone.experiment import published_config

    config = published_config(workspace.config) if published else workspace.config
    loops = set().union(*(get_approach(name).loops for name in approaches)) if approaches else set()
    return workspace_note(workspace, loops, steps, config)
