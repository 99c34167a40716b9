"""`harmone approach | reset | events`: the managing system from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from harmone.approaches import APPROACHES, approaches_of
from harmone.cli import confirmed, workspace_dir
from harmone.cli.args import positive_int
from harmone.errors import HarmonEError
from harmone.knowledge import Action, Decision, Event, KnowledgeStore, LoopName, Outcome
from harmone.knowledge.events import EVENT_SOURCES
from harmone.report.words import TaskWords, decision_name, words
from harmone.workspace import Workspace


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("approach", parents=[common],
                              help="show or set the approach (which loops run); alone, lists the task's approaches")
    p.add_argument("name", nargs="?", metavar="NAME", help=f"one of: {', '.join(APPROACHES)}")
    p.set_defaults(handler=cmd_approach)

    p = subparsers.add_parser("reset", parents=[common],
                              help="remove models, versions, predictions, events and loop state")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=cmd_reset)

    p = subparsers.add_parser("events", parents=[common], help="every decision of the loops")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--loop", choices=EVENT_SOURCES, help="only this loop's events (or the operator's, or settings taken up: config)")
    p.add_argument("--acted", action="store_true", help="only events that changed something")
    p.add_argument("--last", type=positive_int, default=None, metavar="N", help="only the last N events")
    p.set_defaults(handler=cmd_events)


# -- approach, reset -----------------------------------------------------------------------

def cmd_approach(args: argparse.Namespace) -> int:
    from harmone.mape.state import set_approach, workspace_approach
    from harmone.repository import ModelRepository

    workspace = Workspace.open(workspace_dir(args))
    if args.name is None:  # the approaches that can run on the workspace's task
        current = workspace_approach(workspace)
        listed = [APPROACHES[name] for name in approaches_of(workspace.config.task.kinds())]
        width = max(len(approach.name) for approach in listed)
        for approach in listed:
            mark = "*" if approach.name == current.name else " "
            loops = ", ".join(sorted(approach.loops)) or "no loops"
            print(f"{mark} {approach.name:<{width}} {loops:<16} {approach.description}")
        return 0
    approach = set_approach(workspace, args.name)
    print(f"Approach: {approach.name} ({approach.description})")
    if approach.fixed_model is not None:
        print(f"Active model: {approach.fixed_model} (written to {workspace.model_switch_path.name})")
        if approach.fixed_model not in ModelRepository(workspace).trained_kinds():
            print(f"harmone: warning: {approach.fixed_model} is not trained yet "
                  f"(run `harmone train --models {approach.fixed_model}`)", file=sys.stderr)
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from harmone.mape.state import reset

    workspace = Workspace.open(workspace_dir(args))
    where = workspace.root.resolve()
    if not args.yes and not confirmed(f"Remove every model version, prediction, event and loop state in {where}?",
                                      f"refusing to reset {where}"):
        print("Nothing was changed")
        return 1
    report = reset(workspace)
    print(f"Reset {where}: removed {report.versions} model versions, {report.predictions} predictions"
          f" and {report.events} events; loop state back to the configured defaults")
    if report.active_model is not None:
        print(f"Active model: {report.active_model} (the approach's model; run `harmone train` before streaming)")
    else:
        print("Next: `harmone train`")
    return 0


# -- event lines (shared with `harmone manage` and `harmone run`) ---------------------------

def _number(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def _observed_text(event: Event, said: TaskWords) -> str:
    seen = event.observed
    if event.loop is LoopName.SWITCH:
        parts = [f"{said.metric} {_number(seen.get('r2'), '.3f')}", f"e {_number(seen.get('normalised_energy'), '.3f')}",
                 f"EMA {_number(seen.get('ema'), '.3f')}", f"T {_number(seen.get('budget'), '.2f')}"]
        figures = (seen.get("per_model") or {}).get(seen.get("source")) or {}
        if figures.get("energy_uj") is not None:
            overhead = figures.get("overhead_uj")
            parts.append(f"µJ {figures['energy_uj']:.0f} model" + (f" + {overhead:.0f} overhead" if overhead is not None
                                                                     else ""))
        factor = ((seen.get("energy_basis") or {}).get("by_kind") or {}).get(seen.get("source"))
        if factor is not None:
            parts.append(f"live/calibrated x{factor:.2f}")
        if seen.get("target"):
            parts.append(f"-> {seen['target']}")
        return "  ".join(parts)
    if event.loop is LoopName.CONFIG and isinstance(seen.get("changed"), dict):
        return "  ".join(f"{name} {change.get('from')!r} -> {change.get('to')!r}"
                         for name, change in seen["changed"].items() if isinstance(change, dict))
    parts = []
    if "detector_score" in seen:
        parts.append(f"score {_number(seen.get('detector_score'), '.3f')}")
    if seen.get("version_kl") is not None:
        parts.append(f"version KL {_number(seen.get('version_kl'), '.3f')}")
    if "values" in seen:
        parts.append(f"{seen['values']} values")
    if event.retraining is not None:
        parts.append(f"new version held-out {said.metric} {_number(event.retraining.holdout_r2, '.3f')}")
    if event.error is not None:
        parts.append(event.error)
    return "  ".join(parts)


EVENT_HEADER = (f"{'time_s':>10}  {'loop':<7} {'action':<7} {'model':<7} {'ver':>4} {'energy_mJ':>10}"
                f"  {'decision':<24} observed")


def _decision_text(event: Event, said: TaskWords) -> str:
    """The decision, and how a retraining it started ended unless it simply took over."""
    decision = decision_name(event.decision.value, said)
    if event.outcome is None or event.outcome is Outcome.PROMOTED:
        return decision
    return f"{decision} ({event.outcome.value})"


def format_event(event: Event, said: TaskWords) -> str:
    """One event as a line; ``said``: the words of the workspace's task, which name its figures."""
    version = "-" if event.version is None else str(event.version)
    return (f"{event.time_s:>10.2f}  {event.loop.value:<7} {event.action.value:<7} {event.model or '-':<7}"
            f" {version:>4} {event.energy_uj / 1000:>10.3f}  {_decision_text(event, said):<24}"
            f" {_observed_text(event, said)}")


def _worth_printing(event: Event) -> bool:
    """Decisions, not routine checks: every switch-loop run, retraining, drift found, and errors."""
    return (event.loop is not LoopName.DRIFT or event.action is not Action.NONE or event.drift_detected
            or event.decision is Decision.ERROR or event.outcome is not None)


# -- events --------------------------------------------------------------------------------

def cmd_events(args: argparse.Namespace) -> int:
    workspace = Workspace.open(workspace_dir(args))
    if args.last is not None and args.last <= 0:
        raise HarmonEError(f"--last {args.last} must be positive")
    if not workspace.db_path.exists():
        events: list[Event] = []
    else:
        with KnowledgeStore.open_readonly(workspace.db_path) as store:
            # Without --acted, only the newest N rows are read.
            events = store.events(loop=args.loop, last=None if args.acted else args.last)
    if args.acted:
        events = [e for e in events if e.action is not Action.NONE]
    if args.last is not None:
        events = events[-args.last:]
    if args.json:
        print(json.dumps([event.to_dict() for event in events], indent=2))
        return 0
    if not events:
        print("No events (the loops record one per run: `harmone manage` or `harmone run`)")
        return 0
    print(EVENT_HEADER)
    said = words(workspace.config.task)
    for event in events:
        print(format_event(event, said))
    return 0
