"""What the pages show, read from the workspace without writing anything.

Every read goes through a read-only knowledge-base connection and touches only the rows it
shows: the newest rows by id, events by id; whatever needs the whole history (the History
chart, energy per model, lineage) comes from the dashboard's ``History``, which reads each
row once. So a page costs the same at a thousand logged predictions as at a million.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import harmone.dashboard.explain as explain
import harmone.dashboard.series as series
from harmone import config as config_mod
from harmone import lock, tasks
from harmone.approaches import APPROACHES, approaches_of
from harmone.config import Config
from harmone.energy.calibrate import energy_range, load_calibration
from harmone.errors import HarmonEError
from harmone.knowledge import Action, Decision, Event, KnowledgeStore, keys
from harmone.knowledge.events import EVENT_SOURCES
from harmone.models import kinds
from harmone.repository import ModelRepository
from harmone.report.words import decision_name, words
from harmone.status import RECENT_ROWS, LoopsStatus, latest_energy_basis, read_loops, read_status
from harmone.tasks import Task
from harmone.workspace import Workspace

if TYPE_CHECKING:
    from harmone.dashboard.history import History

#: Newest rows the live chart shows at full resolution.
LIVE_ROWS = 1500
#: Points of the History chart when the page does not say (its width in pixels, usually).
HISTORY_POINTS = 600
#: Seconds the whole-history energy table of a live update may lag behind (read at most this often).
LIVE_TOTALS_EVERY_S = 2.0
#: Events one page of the decision log holds.
EVENTS_PAGE = 200
#: Folders of a workspace that never hold experiment results.
_NOT_EXPERIMENTS = {"knowledge", "models", "versionedMR", "data", ".git"}


@contextmanager
def reading(workspace: Workspace) -> Iterator[KnowledgeStore | None]:
    """A read-only store, or None when nothing has run in the workspace yet."""
    if not workspace.db_path.is_file():
        yield None
        return
    store = KnowledgeStore.open_readonly(workspace.db_path, timeout_s=2.0)
    try:
        yield store
    finally:
        store.close()


def marker(event: Event) -> str | None:
    """What a live-chart marker shows for an event, or None when the event changed nothing."""
    if event.action is Action.SWITCH:
        return "switch"
    if event.action is Action.REUSE:
        return "reuse"
    if event.action is Action.RETRAIN:
        return "retrain"
    if event.drift_detected:
        return "drift"
    return None


def _event_row(event: Event) -> int | None:
    seen = event.observed
    value = seen.get("last_row_id", seen.get("first_row_id"))
    return value if isinstance(value, int) else None


def markers(events: list[Event], fallback_row: int = 0) -> list[dict[str, Any]]:
    """Chart markers placed at the newest row the event's loop had seen (oldest event first)."""
    out = []
    row = fallback_row
    for event in events:
        row = _event_row(event) or row
        kind = marker(event)
        if kind is not None:
            out.append({"id": event.id, "row": row, "kind": kind, "model": event.model, "version": event.version})
    return out


def current_config(workspace: Workspace) -> tuple[Config | None, str | None]:
    """The configuration as saved now (the page may have changed it), or the reason it cannot be read."""
    try:
        return config_mod.load(workspace.config_path), None
    except HarmonEError as exc:
        return None, str(exc)


def task_of(workspace: Workspace) -> Task:
    """The task harmone.toml names now (``data synth --profile digits`` may set it while the
    dashboard runs; the file is read again only when it changed), or the task the workspace
    was opened with while the file cannot be read."""
    try:
        stat = workspace.config_path.stat()
        return tasks.get(_task_name(str(workspace.config_path), stat.st_mtime_ns, stat.st_size))
    except (OSError, HarmonEError):
        return workspace.config.task


@lru_cache(maxsize=16)
def _task_name(path: str, mtime_ns: int, size: int) -> str:
    return config_mod.load(Path(path)).stream.task


def labels(workspace: Workspace) -> dict[str, Any]:
    """The words the pages name the task's figures with (sent once, with the session), the
    predictions a rolling figure is taken over, and the task's model kinds."""
    task = task_of(workspace)
    return {**words(task).to_dict(), "window": series.ROLLING_WINDOW, "kinds": task.kinds()}


def live(workspace: Workspace, history: History | None = None, after: int = 0, after_event: int = 0) -> dict[str, Any]:
    """The live page's data: rows after ``after`` (the newest ``LIVE_ROWS`` at most) with the
    task's rolling metric and skill (``labels`` names them) and each row's energy, the active
    model, new event markers, and energy per model over the whole history (from ``history``;
    every model ever served stays in the table)."""
    with reading(workspace) as store:
        if store is None:
            return {"last_row_id": 0, "last_event_id": 0, "rows": _rows_payload(None, 0, None), "markers": [],
                    "energy": {}, "meter": None, "energy_basis": None}
        last = store.last_row_id()
        start = max(after, last - LIVE_ROWS)
        context = max(start - series.ROLLING_WINDOW - 1, 0)
        rows = store.predictions_after(context, limit=max(last - context, 0))
        if after_event:
            new_events = store.events(after_event)
        else:
            new_events = list(reversed(store.events_before(None, limit=EVENTS_PAGE)))
        last_event = new_events[-1].id if new_events else after_event
        meter = store.get_state(keys.METER)
        basis = latest_energy_basis(store)
        if history is not None:
            history.catch_up(store, unless_within_s=LIVE_TOTALS_EVERY_S)
    return {"last_row_id": last, "last_event_id": last_event or 0,
            "rows": _rows_payload(rows, start, task_of(workspace)),
            "markers": markers(new_events, int(rows.row_id[0]) if len(rows) else after),
            "energy": {} if history is None else history.energy_per_model(),
            "meter": meter if isinstance(meter, dict) else None, "energy_basis": basis}


def _rows_payload(rows: Any, start: int, task: Task | None) -> dict[str, list[Any]]:
    """The rows after ``start``; ``metric`` and ``skill``: the task's, rolling (from the rows before too)."""
    if rows is None or not len(rows) or task is None:
        return {"id": [], "truth": [], "pred": [], "model": [], "version": [], "metric": [], "skill": [],
                "energy_uj": [], "model_energy_uj": []}
    metric, skill = series.rolling(task, rows.true_value, rows.predicted_value)
    shown = rows.row_id > start
    return {"id": rows.row_id[shown].tolist(), "truth": series.finite_list(rows.true_value[shown], 3),
            "pred": series.finite_list(rows.predicted_value[shown], 3), "model": rows.model[shown].tolist(),
            "version": rows.version[shown].tolist(), "metric": series.finite_list(metric[shown], 4),
            "skill": series.finite_list(skill[shown], 4), "energy_uj": series.finite_list(rows.energy_uj[shown], 3),
            "model_energy_uj": series.finite_list(rows.model_energy_uj[shown], 3)}


def energy_reference(workspace: Workspace) -> dict[str, Any]:
    """The calibrated energy per prediction of each kind and the switch loop's energy goal in µJ."""
    config, config_error = current_config(workspace)
    out: dict[str, Any] = {"calibrated_uj": {}, "calibrated_overhead_uj": {}, "calibration": None, "goal_uj": None,
                           "goal": None, "error": config_error}
    try:
        calibration = load_calibration(workspace.calibration_path)
    except HarmonEError as exc:
        calibration, out["error"] = None, str(exc)
    if calibration is not None:
        out["calibrated_uj"] = dict(calibration.energy_uj_per_prediction)
        out["calibrated_overhead_uj"] = dict(calibration.overhead_uj_per_prediction)
        out["calibration"] = {"meter_kind": calibration.meter_kind, "meter_source": calibration.meter_source,
                              "created_at": calibration.created_at}
    if config is not None:
        e_min, e_max = energy_range(config.energy, calibration)
        goal, setting = explain.energy_goal(config)
        out["goal_uj"] = e_min + min(goal, 1.0) * (e_max - e_min)
        out["goal"] = {"normalised": goal, "setting": setting, "range_uj": [e_min, e_max],
                       "range": "calibrated" if calibration is not None and config.energy.normalisation == "calibrated"
                       else "published"}
    return out


def history(workspace: Workspace, summary: History, first: int | None, last: int | None,
            points: int = HISTORY_POINTS) -> dict[str, Any]:
    """The History chart from row ``first`` to ``last`` (the whole history by default): min and max
    per group of rows, every event marker in the range, and the energy goal."""
    with reading(workspace) as store:
        summary.catch_up(store)
        chart = summary.chart(store, first, last, points)
    return {**chart, "markers": summary.markers_between(chart["first"], chart["last"]),
            "newest": summary.last_row, "energy": energy_reference(workspace)}


def _seen(event: Event, task: Task) -> dict[str, Any]:
    """The figures a loop acted on, flattened for the decision log (scores, budget, KLs, versions);
    the stored keys of the task's metric and loss (``r2``, ``candidate_mse``…) named for what they hold."""
    seen = event.observed
    named = explain.figure_names(task)
    return {named.get(key, key): seen[key]
            for key in ("violation", "r2", "normalised_energy", "ema", "budget", "recovery", "rows",
                        "detector_score", "version_kl", "version_kls", "active_version", "target",
                        "candidate_mse", "serving_mse", "values", "new_version", "holdout_r2",
                        "serving_holdout_r2", "operator", "changed", "error") if seen.get(key) not in (None, {}, [])}


def decisions(workspace: Workspace, *, before: int | None = None, loop: str | None = None,
              decision: str | None = None) -> dict[str, Any]:
    """One page of the event log, newest first, filtered by loop and decision; each event with the
    values it compared beside their thresholds and, when it was not routine, why. Decisions are
    filtered by their stored names, and shown as the task reads them (``decision_names``)."""
    with reading(workspace) as store:
        events = [] if store is None else store.events_before(before, loop=loop, decision=decision,
                                                              limit=EVENTS_PAGE)
    config, _ = current_config(workspace)
    task = config.task if config is not None else task_of(workspace)
    return {"events": [{**event.to_dict(), "seen": _seen(event, task), "observed": None,
                        "compared": explain.compared(event, config), "why": explain.why(event, config)}
                       for event in events],
            "more": len(events) == EVENTS_PAGE, "loops": list(EVENT_SOURCES), "decisions": [d.value for d in Decision],
            "decision_names": {d.value: decision_name(d.value, words(task)) for d in Decision}}


def models(workspace: Workspace, summary: History | None = None) -> dict[str, Any]:
    """Every stored version of every model kind, with its metadata, where it came from, and which is active."""
    repository = ModelRepository(workspace)
    active_model = workspace.read_active_model() or workspace.config.stream.default_model
    if summary is not None:
        summary.catch_up()
    lineage = {} if summary is None else summary.lineage_table()
    result = []
    for kind in kinds():
        versions = []
        for version in repository.versions(kind):
            try:
                meta = repository.meta(kind, version)
            except HarmonEError as exc:
                meta = {"error": str(exc)}
            versions.append({"version": version, "created": meta.get("created"), "reason": meta.get("reason"),
                             "metrics": meta.get("metrics", {}), "data": meta.get("data", {}),
                             "params": meta.get("params", {}), "train_time_s": meta.get("train_time_s"),
                             "error": meta.get("error"), "made_by": lineage.get((kind, version))})
        if versions:
            result.append({"kind": kind, "active_version": repository.active_version(kind),
                           "serving": kind == active_model, "versions": versions})
    return {"active_model": active_model, "kinds": result}


def approach(workspace: Workspace, summary: History | None = None, time_scale: float | None = None) -> dict[str, Any]:
    """The approach, the approaches to choose from and each loop's state, with when each loop runs
    next in words (``time_scale``: the running manager's, when known).

    The page asks every two seconds, so this reads only what it shows: the loops' state, the
    newest rows for the task's recent metric and the predictions counted by ``summary``
    (``harmone status`` counts and checks more, at a cost that grows with the history). Only the
    approaches of the task's model kinds are offered.
    """
    with reading(workspace) as store:
        if store is None:
            return _approach(read_status(workspace).loops, None, None, 0, workspace, time_scale)
        config, _ = current_config(workspace)
        loops = read_loops(store, config or workspace.config)
        recent = store.latest_predictions(RECENT_ROWS)
        clock = store.get_state(keys.MANAGER_CLOCK)
        if summary is not None:
            summary.catch_up(store, unless_within_s=LIVE_TOTALS_EVERY_S)
    predictions = sum(summary.counters()[0].predictions.values()) if summary is not None else len(recent)
    task = task_of(workspace)
    recent_metric = task.accuracy(recent.true_value, recent.predicted_value) if len(recent) > 1 else None
    return _approach(loops, clock, recent_metric, predictions, workspace, time_scale)


def _approach(loops_status: LoopsStatus, clock: Any, recent_metric: float | None, predictions: int,
              workspace: Workspace, time_scale: float | None) -> dict[str, Any]:
    loops = loops_status.to_dict()
    drift = loops_status.drift
    running = lock.holders(workspace.knowledge_dir)
    manager = None if running[lock.MANAGER] is None else running[lock.MANAGER].describe()
    scale = time_scale or explain.time_scale_of(manager) or 1.0
    due = {name: (state.get("next_due_s") if isinstance(state, dict) else None)
           for name, state in ((n, loops.get(n)) for n in ("switch", "drift", "retrain"))}
    active = workspace.read_active_model() or workspace.config.stream.default_model
    return {"approach": loops_status.approach, "loops": loops, "active_loops": list(loops_status.loops),
            "drift_score": None if drift is None else drift.last_score,
            "drift_retrainings": 0 if drift is None else drift.counts.retrains,
            "drift_retrain_failures": 0 if drift is None else drift.counts.failures,
            "next": explain.next_runs(due, clock, scale, manager is not None),
            "manager": manager, "time_scale": scale,
            "inference": None if running[lock.INFERENCE] is None else running[lock.INFERENCE].describe(),
            "approaches": [{"name": a.name, "description": a.description, "loops": sorted(a.loops)}
                           for a in (APPROACHES[name] for name in approaches_of(task_of(workspace).kinds()))],
            "active_model": active, "active_version": ModelRepository(workspace).active_version(active),
            "predictions": predictions, "recent_metric": recent_metric}


def getting_started(workspace: Workspace) -> dict[str, Any]:
    """What a new workspace lacks, in order, with the command that provides it."""
    root = str(workspace.root.resolve())
    has_data = workspace.test_path.is_file()
    has_models = any(ModelRepository(workspace).versions(kind) for kind in kinds())
    with reading(workspace) as store:
        predictions = 0 if store is None else store.last_row_id()
    steps = [{"done": has_data, "what": "stream data",
              "command": f"harmone data synth -w {root}   (or: harmone data import FILE.csv -w {root})"},
             {"done": has_models, "what": "trained models", "command": f"harmone train -w {root}"},
             {"done": predictions > 0, "what": "logged predictions",
              "command": f"harmone run -w {root} --simulate   (or start infer and manage on Run control)"}]
    return {"empty": not all(step["done"] for step in steps), "steps": steps}


def experiment_dirs(workspace: Workspace) -> list[Path]:
    """Folders of the workspace (three levels deep at most) that hold a ``results.json``."""
    found = []
    root = workspace.root.resolve()
    for depth in range(4):
        for path in sorted(root.glob("/".join(["*"] * depth + ["results.json"]))):
            relative = path.parent.relative_to(root)
            if not (relative.parts and relative.parts[0] in _NOT_EXPERIMENTS):
                found.append(path.parent)
    return found


def meter_label(row: dict[str, Any]) -> str:
    """How a results row's energies were obtained: measured, estimated, or modelled (``--meter model``)."""
    source = str(row.get("meter_source") or "")
    if source.startswith("model:"):
        return "modelled"
    return str(row.get("meter_kind") or "unknown")


def results_words(folder: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The words of the task an experiment was measured on: its ``run.json`` names it (rows
    may too); an experiment from before tasks were named was a forecasting one. Its rows'
    ``r2``, ``skill`` and ``mae`` hold that task's metric, skill and mean error."""
    named: set[Any] = {row["task"] for row in rows if "task" in row}
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        run = None
    if isinstance(run, dict) and "task" in run:
        named = {run["task"]}
    try:
        task = tasks.get(str(named.pop())) if len(named) == 1 else tasks.get("forecasting")
    except HarmonEError:
        task = tasks.get("forecasting")
    return words(task).to_dict()


def experiments(workspace: Workspace) -> dict[str, Any]:
    """Each experiment folder's results table (every figure the command line shows, its columns
    named with the words of the results' task) and plots."""
    root = workspace.root.resolve()
    out = []
    for folder in experiment_dirs(workspace):
        try:
            rows = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            rows, error = [], f"{folder / 'results.json'}: cannot be read ({exc})"
        else:
            error = None
        rows = [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
        name = str(folder.relative_to(root)) if folder != root else "."
        out.append({"name": name, "rows": [{**row, "energies": meter_label(row)} for row in rows], "error": error,
                    "words": results_words(folder, rows), "plots": sorted(p.name for p in folder.glob("*.png"))})
    return {"experiments": out}


def experiment_file(workspace: Workspace, name: str, filename: str) -> Path | None:
    """A plot of a listed experiment folder; None for anything else (no path leaves the folder)."""
    for folder in experiment_dirs(workspace):
        root = workspace.root.resolve()
        listed = str(folder.relative_to(root)) if folder != root else "."
        if listed == name and filename.endswith(".png") and "/" not in filename and "\\" not in filename:
            path = folder / filename
            return path if path.is_file() else None
    return None
