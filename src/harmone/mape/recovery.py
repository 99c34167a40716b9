"""What a killed manager left behind, recorded or discarded when the next one starts.

A manager can die at any moment of a retraining: while its child trains (the child then
exits by itself, ``retrain_job``), after the child stored its version but before the
manager read the result, or after the manager promoted but before it recorded the event.
``recover`` runs under the manager lock, before the loops read their state:

- every scratch directory ``knowledge/.retrain-*`` is removed, after ending a child that
  is still running, and every half-written version ``versionedMR/<kind>/.tmp-*`` whose
  writer is gone;
- every version a retraining stored (reason ``drift`` or ``periodic``) that no event names
  is recorded as a ``recovered`` retrain event, with the energy its training measured:
  ``promoted`` when it serves (the promotion happened), else ``kept-serving`` (nobody
  validated the promotion, so the serving version stays);
- a job that stored nothing is recorded as ``recovered`` with outcome ``failed``.

Afterwards every promotion has its event, and no scratch is left.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

from harmone.knowledge import Action, Decision, Event, KnowledgeStore, LoopName, Outcome
from harmone.knowledge.events import Retraining
from harmone.mape.execute import CHILD_PID_FILE
from harmone.models import kinds
from harmone.repository import ModelRepository
from harmone.workspace import RETRAIN_SCRATCH_PREFIX, Workspace

#: The loop that starts a retraining for each reason stored in a version's meta.json.
_LOOP_OF_REASON = {"drift": LoopName.DRIFT, "periodic": LoopName.RETRAIN}
#: Seconds to wait for a leftover child to exit after SIGKILL.
_KILL_WAIT_S = 2.0


def recover(workspace: Workspace, store: KnowledgeStore, *, now: float) -> list[Event]:
    """Clean up and record what a previous manager left unfinished; the events recorded."""
    interrupted = _clear_scratch(workspace.knowledge_dir)
    recorded = _recorded_versions(store)
    repository = ModelRepository(workspace)
    repository.remove_stale_temporaries()
    events: list[Event] = []
    found_kinds: set[str] = set()
    kinds_dir = workspace.versions_dir
    known = set(kinds())
    for kind in sorted(p.name for p in kinds_dir.iterdir() if p.is_dir() and p.name in known) \
            if kinds_dir.is_dir() else []:
        active = repository.active_version(kind)
        for version in repository.versions(kind):
            if (kind, version) in recorded:
                continue
            try:
                meta = repository.meta(kind, version)
            except Exception:  # noqa: BLE001 - a damaged meta.json is the loader's to report
                continue
            reason = meta.get("reason") if isinstance(meta, dict) else None
            if reason not in _LOOP_OF_REASON:
                continue
            found_kinds.add(kind)
            events.append(_record(store, _recovered_event(kind, version, active, meta, reason, now)))
    if interrupted and not found_kinds:
        events.append(_record(store, Event(
            time_s=now, loop=LoopName.RETRAIN, action=Action.NONE, decision=Decision.RECOVERED,
            outcome=Outcome.FAILED,
            observed={"error": f"{interrupted} retraining(s) interrupted when their manager stopped; discarded",
                      "interrupted": interrupted})))
    return events


def _recovered_event(kind: str, version: int, active: int | None, meta: dict, reason: str, now: float) -> Event:
    """The retrain event its manager never recorded, from what the version's meta.json holds."""
    metrics = meta.get("metrics") if isinstance(meta.get("metrics"), dict) else {}
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    meter = meta.get("meter") if isinstance(meta.get("meter"), dict) else {}
    energy = _number(meta.get("train_energy_uj"))
    retraining = Retraining(new_version=version, holdout_r2=_number(metrics.get("holdout_r2")),
                            train_energy_uj=energy, train_meter=meter.get("source"),
                            n_train_values=int(_number(data.get("n"))), promoted=version == active,
                            serving_holdout_r2=None)
    return Event(time_s=now, loop=_LOOP_OF_REASON[reason], action=Action.RETRAIN, model=kind, version=active,
                 energy_uj=energy, decision=Decision.RECOVERED,
                 outcome=Outcome.PROMOTED if version == active else Outcome.KEPT_SERVING,
                 observed={**retraining.to_dict(), "recovered": "stored by a retraining whose manager stopped"
                                                                " before recording it"})


def _record(store: KnowledgeStore, event: Event) -> Event:
    import dataclasses

    return dataclasses.replace(event, id=store.record_event(event))


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _recorded_versions(store: KnowledgeStore) -> set[tuple[str, int]]:
    """(kind, version) of every version an event says was stored by a retraining."""
    found: set[tuple[str, int]] = set()
    for event in store.events():
        version = event.observed.get("new_version")
        if event.model is not None and isinstance(version, int):
            found.add((event.model, version))
    return found


def _clear_scratch(knowledge_dir: Path) -> int:
    """Remove every job's scratch (ending a child still running); the count of jobs without a result."""
    interrupted = 0
    for scratch in sorted(knowledge_dir.glob(RETRAIN_SCRATCH_PREFIX + "*")):
        _end_child(scratch / CHILD_PID_FILE)
        if not (scratch / "result.json").is_file():
            interrupted += 1
        shutil.rmtree(scratch, ignore_errors=True)
    return interrupted


def _end_child(pid_file: Path) -> None:
    """SIGKILL the recorded child if it still runs the retraining job (its manager is gone)."""
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"retrain_job" not in cmdline or pid == os.getpid():
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return
    deadline = time.monotonic() + _KILL_WAIT_S
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        try:
            if b"retrain_job" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                return  # a zombie has an empty command line: it is dead
        except OSError:
            return
        time.sleep(0.02)
