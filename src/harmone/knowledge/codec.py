"""Typed knowledge to and from the plain JSON the database stores: the only such code.

Stored layouts (kept from the first release, so existing workspaces load):

``switch_loop``   ``{"state": {"ema", "budget", "recovery", "last_row_id"}, "next_due_s", "counts"}``,
                  and ``"policy"``: the policy's own state, for a policy that keeps one
``drift_loop``    ``{"next_due_s", "last_row_id", "last_score", "counts"}``
``retrain_loop``  ``{"next_due_s", "counts"}``

Names that spoke of the published detector were made generic; what earlier releases
stored under the old names still decodes: the drift loop's ``last_kl`` is its
``last_score``, and an event's ``observed["window_kl"]`` is ``observed["detector_score"]``.

``counts`` holds the non-zero ``RunCounts``. A damaged value raises ``WorkspaceError``
naming the key and the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from harmone.errors import WorkspaceError
from harmone.knowledge.events import Event, LoopName
from harmone.knowledge.keys import LOOP_KEYS
from harmone.knowledge.loop_state import (
    DriftLoopState,
    LoopState,
    RetrainLoopState,
    RunCounts,
    SwitchLoopState,
    SwitchState,
)


def json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=json_default)


# -- events ----------------------------------------------------------------------------------

#: Column order of the ``events`` table (without id).
EVENT_COLUMNS = ("time_s", "loop", "action", "model", "version", "energy_uj", "decision", "observed", "outcome")


def encode_event(event: Event) -> tuple[Any, ...]:
    return (event.time_s, event.loop.value, event.action.value, event.model, event.version, event.energy_uj,
            event.decision.value, dumps(dict(event.observed)),
            None if event.outcome is None else event.outcome.value)


#: Keys of ``observed`` that earlier releases wrote under another name: old name -> today's.
RENAMED_OBSERVED = {"window_kl": "detector_score"}


def _observed_today(observed: Any) -> Any:
    """Stored ``observed`` figures under today's key names (unchanged when none is old)."""
    if not isinstance(observed, dict) or not any(old in observed for old in RENAMED_OBSERVED):
        return observed
    return {RENAMED_OBSERVED.get(key, key): value for key, value in observed.items()}


def decode_event(row: tuple[Any, ...]) -> Event:
    """An ``events`` row (id first, then ``EVENT_COLUMNS``) as an ``Event``, in today's key names."""
    try:
        return Event(id=row[0], time_s=row[1], loop=row[2], action=row[3], model=row[4], version=row[5],
                     energy_uj=row[6], decision=row[7], observed=_observed_today(json.loads(row[8])),
                     outcome=row[9])
    except ValueError as exc:
        raise WorkspaceError(f"knowledge event {row[0]}: {exc}") from None


#: Suffixes the first release appended to ``decision`` instead of an outcome column.
_LEGACY_SUFFIXES = {"; retrain-failed": "failed", "; serving-version-better": "kept-serving"}


def split_legacy_decision(action: str, decision: str, observed: str) -> tuple[str, str | None]:
    """(decision, outcome) of an event stored before outcomes had their own column."""
    for suffix, outcome in _LEGACY_SUFFIXES.items():
        if decision.endswith(suffix):
            return decision[:-len(suffix)], outcome
    if action == "retrain" and '"new_version"' in observed:
        return decision, "promoted"
    return decision, None


def legacy_event_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """An events row of a schema-1 database (read-only, so not migrated) in today's shape."""
    decision, outcome = split_legacy_decision(row[3], row[7], row[8])
    return (*row[:7], decision, row[8], outcome)


# -- loop state ------------------------------------------------------------------------------

def _number(where: str, raw: Mapping[str, Any], name: str, kind: type = float, *, optional: bool = False) -> Any:
    if name not in raw:
        if optional:
            return None
        raise WorkspaceError(f"{where}: missing key {name!r}")
    value = raw[name]
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            kind is int and not float(value).is_integer()):
        raise WorkspaceError(f"{where}: {name} must be {'a whole number' if kind is int else 'a number'}, "
                             f"found {value!r}")
    return kind(value)


def _table(where: str, value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WorkspaceError(f"{where}: {name} must be a table, found {value!r}")
    return value


def encode_switch_state(state: SwitchState) -> dict[str, Any]:
    return {"ema": dict(state.ema), "budget": state.budget, "recovery": state.recovery,
            "last_row_id": state.last_row_id}


def decode_switch_state(raw: Any, where: str = "switch state") -> SwitchState:
    raw = _table(where, raw, "state")
    ema_raw = _table(where, raw.get("ema"), "ema") if "ema" in raw else None
    if ema_raw is None:
        raise WorkspaceError(f"{where}: missing key 'ema'")
    ema = {str(kind): _number(where, ema_raw, kind) for kind in ema_raw}
    try:
        return SwitchState(ema=ema, budget=_number(where, raw, "budget"), recovery=_number(where, raw, "recovery", int),
                           last_row_id=_number(where, raw, "last_row_id", int))
    except ValueError as exc:
        raise WorkspaceError(f"{where}: {exc}") from None


def _counts(where: str, raw: Mapping[str, Any]) -> RunCounts:
    table = _table(where, raw.get("counts", {}), "counts")
    known = set(RunCounts.__dataclass_fields__)
    unknown = sorted(set(table) - known)
    if unknown:
        raise WorkspaceError(f"{where}: unknown count {unknown[0]!r}")
    try:
        return RunCounts(**{name: _number(where, table, name, int) for name in table})
    except ValueError as exc:
        raise WorkspaceError(f"{where}: counts: {exc}") from None


def encode_loop_state(state: LoopState) -> dict[str, Any]:
    common: dict[str, Any] = {"next_due_s": state.next_due_s, "counts": state.counts.nonzero()}
    if state.last_run_s is not None:
        common["last_run_s"] = state.last_run_s
    if isinstance(state, SwitchLoopState):
        encoded = {"state": encode_switch_state(state.switch), **common}
        if state.policy is not None:
            encoded["policy"] = dict(state.policy)
        return encoded
    if isinstance(state, DriftLoopState):
        return {**common, "last_row_id": state.last_row_id, "last_score": state.last_score}
    return common


def decode_loop_state(loop: LoopName, raw: Any) -> LoopState:
    """The typed state of ``loop`` from its stored JSON; damage is one ``WorkspaceError``."""
    where = f"knowledge state {LOOP_KEYS[loop]!r}"
    raw = _table(where, raw, "the state")
    next_due_s, counts = _number(where, raw, "next_due_s"), _counts(where, raw)
    last_run_s = _number(where, raw, "last_run_s", optional=True)
    if loop is LoopName.SWITCH:
        switch = decode_switch_state(raw.get("state"), f"{where} state")
        policy = dict(_table(where, raw["policy"], "policy")) if raw.get("policy") is not None else None
        return SwitchLoopState(switch=switch, next_due_s=next_due_s, counts=counts, last_run_s=last_run_s,
                               policy=policy)
    if loop is LoopName.DRIFT:
        last_row_id = _number(where, raw, "last_row_id", int, optional=True)
        score_key = "last_score" if "last_score" in raw else "last_kl"  # last_kl: as earlier releases stored it
        return DriftLoopState(next_due_s=next_due_s, counts=counts, last_row_id=last_row_id,
                              last_score=_number(where, raw, score_key, optional=True), last_run_s=last_run_s)
    return RetrainLoopState(next_due_s=next_due_s, counts=counts, last_run_s=last_run_s)
