"""The pages' words: why a loop decided what it did, and when each loop runs next.

A decision is shown with every value it compared next to the threshold it was compared
against (KL 0.876 against 0.75), taken from the configuration as it is now (a threshold
changed since the event was recorded shows its new value, and the page says the thresholds
are the current ones). The task's figures are named for what they hold (the stored
``holdout_r2`` is a held-out accuracy on a classification stream). Loop schedules are
stored in the manager's clock seconds; they are turned into "next run in 12 s" with the
clock's last stored reading and its time scale.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from typing import Any

from harmone import detectors
from harmone.config import Config
from harmone.errors import HarmonEError
from harmone.knowledge import Decision, Event, LoopName
from harmone.report.words import words
from harmone.tasks import Task


def _item(what: str, value: Any, op: str, threshold: Any, setting: str) -> dict[str, Any] | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    return {"what": what, "value": value, "op": op, "threshold": threshold, "setting": setting}


def detector_threshold(config: Config) -> tuple[float, str] | None:
    """The score the drift detector detects above, as configured, and the setting that holds it."""
    name = config.drift.detector
    try:
        cls = detectors.detector_class(name)
        found = cls.score_threshold(detectors.check_settings(name, config.detector_params(name)))
    except (HarmonEError, ValueError):
        return None
    if found is None:
        return None
    return found[0], f"{cls.settings_section or f'detectors.{name}'}.{found[1]}"


def figure_names(task: Task) -> dict[str, str]:
    """What the stored keys of the task's metric and validated adaptation's loss are shown as."""
    said = words(task)
    return {"r2": said.metric, "holdout_r2": f"new version's held-out {said.metric}",
            "serving_holdout_r2": f"serving version's held-out {said.metric}",
            "candidate_mse": f"candidate {said.loss}", "serving_mse": f"serving version's {said.loss}"}


def energy_goal(config: Config) -> tuple[float, str]:
    """The normalised energy goal of the switch loop's budget rule and the setting that holds it."""
    if config.switch.budget_rule == "published":
        return config.switch.max_energy, "switch.max_energy"
    return config.switch.energy_goal, "switch.energy_goal"


def compared(event: Event, config: Config | None) -> list[dict[str, Any]]:
    """Each value the run compared, with its threshold and the setting that holds it."""
    if config is None:
        return []
    seen: Mapping[str, Any] = event.observed
    items: list[dict[str, Any] | None] = []
    if event.loop is LoopName.SWITCH:
        goal, goal_setting = energy_goal(config)
        energy = seen.get("normalised_energy")
        above = event.decision is Decision.ENERGY_VIOLATION or (isinstance(energy, (int, float)) and energy > goal)
        items += [_item("score EMA", seen.get("ema"), "≥" if event.decision is not Decision.SCORE_VIOLATION else "<",
                        config.switch.min_score, "switch.min_score"),
                  _item("normalised energy", energy, ">" if above else "≤", goal, goal_setting)]
    elif event.loop is LoopName.DRIFT:
        threshold, setting = detector_threshold(config) or (None, f"detectors.{config.drift.detector}")
        detected = bool(seen.get("drift_detected"))
        items.append(_item(f"{config.drift.detector} score", seen.get("detector_score"), ">" if detected else "≤",
                           threshold, setting))
        version_kl = seen.get("version_kl")
        if isinstance(version_kl, (int, float)):
            items.append(_item("closest stored version's KL", version_kl,
                               "<" if version_kl < config.drift.reuse_threshold else "≥",
                               config.drift.reuse_threshold, "drift.reuse_threshold"))
        if isinstance(seen.get("candidate_mse"), (int, float)):
            named = figure_names(config.task)
            items.append(_item(named["candidate_mse"], seen["candidate_mse"], "vs", seen.get("serving_mse"),
                               named["serving_mse"]))
    elif event.loop is LoopName.RETRAIN:
        items.append(_item("true values", seen.get("values"), "≥" if event.decision is Decision.SCHEDULED else "<",
                           config.retrain.training_values, "retrain.training_values"))
    if isinstance(seen.get("holdout_r2"), (int, float)):
        named = figure_names(config.task)
        items.append(_item(named["holdout_r2"], seen["holdout_r2"], "vs", seen.get("serving_holdout_r2"),
                           named["serving_holdout_r2"]))
    return [item for item in items if item is not None]


def _num(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"


def why(event: Event, config: Config | None) -> str | None:
    """One sentence on why the run decided what it did, for the decisions that are not routine."""
    seen = event.observed
    decision = event.decision
    if decision is Decision.SCORE_VIOLATION:
        minimum = None if config is None else config.switch.min_score
        ema = seen.get("ema")
        if config is not None and isinstance(ema, (int, float)) and ema >= config.switch.min_score:
            said = words(config.task)
            return (f"score violation: {event.model} predicted worse than {said.baseline} ({said.skill} below 0) "
                    f"over the batch, although its EMA {_num(ema)} was at or above min_score {_num(minimum)}")
        return f"score violation: the score EMA {_num(ema)} fell below min_score {_num(minimum)}"
    if decision is Decision.ENERGY_VIOLATION:
        goal = energy_goal(config)[0] if config is not None else None
        if config is not None and config.switch.budget_rule == "published":
            return f"energy violation: normalised energy {_num(seen.get('normalised_energy'))} exceeded the budget " \
                   f"{_num(seen.get('budget'))}"
        return (f"energy violation: normalised energy {_num(seen.get('normalised_energy'))} was above the goal "
                f"{_num(goal)} and above the budget left before the run (now {_num(seen.get('budget'))})")
    if decision is Decision.RECOVERY:
        return f"recovering from an energy violation: no switch for {seen.get('recovery')} more runs"
    if decision is Decision.EXPLORE:
        return "exploration: a random other model is tried now and then (switch.explore_probability)"
    if decision is Decision.REUSE:
        return f"drift detected; stored version v{event.version} of {event.model} fits the new data (reused)"
    if decision in (Decision.RETRAIN_NO_CLOSE_VERSION, Decision.RETRAIN_NO_OTHER_VERSION):
        return "drift detected; no stored version fits the new data closely enough, so a new one is trained"
    if decision is Decision.ERROR or event.error:
        return f"failed: {event.error}"
    if decision is Decision.OPERATOR:
        return f"operator: {seen.get('operator')}"
    return None


# -- loop schedules ---------------------------------------------------------------------------

_SCALE = re.compile(r"--time-scale[ =]([0-9.eE+-]+)")


def time_scale_of(command: str | None) -> float | None:
    """The ``--time-scale`` of a running command line, if it gave one."""
    found = _SCALE.search(command or "")
    if found is None:
        return None
    try:
        value = float(found.group(1))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def next_runs(due_s: Mapping[str, float | None], clock: Any, scale: float, running: bool,
              now_unix: float | None = None) -> dict[str, dict[str, Any]]:
    """For each loop: seconds of real time until its next run (None when the manager is not running)."""
    clock_now = None
    if isinstance(clock, Mapping) and isinstance(clock.get("clock_s"), (int, float)) \
            and isinstance(clock.get("unix_s"), (int, float)):
        elapsed = max(0.0, (time.time() if now_unix is None else now_unix) - float(clock["unix_s"]))
        clock_now = float(clock["clock_s"]) + elapsed * scale
    out: dict[str, dict[str, Any]] = {}
    for loop, due in due_s.items():
        if due is None:
            out[loop] = {"in_s": None, "words": "has not run yet"}
        elif not running:
            out[loop] = {"in_s": None, "words": "waits for `harmone manage` (not running)"}
        elif clock_now is None:
            out[loop] = {"in_s": None, "words": "due at its first tick"}
        else:
            wait = max(0.0, (due - clock_now) / scale)
            out[loop] = {"in_s": wait, "words": "due now" if wait < 0.5 else f"next run in {_duration(wait)}"}
    return out


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
