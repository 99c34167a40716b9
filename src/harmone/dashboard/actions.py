"""What an operator can change from the page, each change recorded as an event.

An operator action is stored like a loop's event, with ``decision`` ``operator`` and
``observed["operator"]`` naming the action, so ``harmone events`` and the decision log show
who changed what beside what the loops did. The event goes under the loop whose domain the
change touches: the approach and runs under ``switch``, model versions under ``retrain``.
"""

from __future__ import annotations

import difflib
import time
import tomllib
from collections.abc import Mapping
from typing import Any

from harmone import atomic
from harmone import config as config_mod
from harmone.errors import ConfigError, HarmonEError
from harmone.knowledge import Action, Decision, Event, KnowledgeStore, LoopName
from harmone.mape.state import set_approach
from harmone.repository import ModelRepository
from harmone.workspace import Workspace

#: The largest harmone.toml the page may save.
MAX_CONFIG_BYTES = 256 * 1024


class ActionError(HarmonEError):
    """An operator's request that cannot be carried out (shown on the page, nothing changed)."""


class NeedsConfirmation(ActionError):
    """A request that would do something drastic: done only when sent again with ``confirm``."""


def record(workspace: Workspace, loop: LoopName, operator: str, *, model: str | None = None,
           version: int | None = None, **details: Any) -> int:
    """Store an operator action as an event; returns its id."""
    with KnowledgeStore(workspace.db_path) as store:
        observed = {"operator": operator, "last_row_id": store.last_row_id(), **details}
        return store.record_event(Event(time_s=time.time(), loop=loop, action=Action.NONE, model=model,
                                        version=version, decision=Decision.OPERATOR, observed=observed))


def change_approach(workspace: Workspace, name: Any) -> dict[str, Any]:
    if not isinstance(name, str):
        raise ActionError(f"approach {name!r} must be a name")
    approach = set_approach(workspace, name)
    record(workspace, LoopName.OPERATOR, "approach", approach=approach.name)
    return {"approach": approach.name}


def promote(workspace: Workspace, kind: Any, version: Any) -> dict[str, Any]:
    """Make a stored version the active one (a newer one: promote; an older one: roll back)."""
    if not isinstance(kind, str) or not isinstance(version, int) or isinstance(version, bool):
        raise ActionError(f"promote: kind {kind!r} and version {version!r} must be a name and a whole number")
    repository = ModelRepository(workspace)
    if version not in repository.versions(kind):
        raise ActionError(f"model {kind!r} has no version {version}")
    previous = repository.active_version(kind)
    repository.promote(kind, version)
    verb = "rollback" if previous is not None and version < previous else "promote"
    record(workspace, LoopName.OPERATOR, verb, model=kind, version=version, previous_version=previous)
    return {"kind": kind, "version": version, "previous_version": previous, "action": verb}


def check_config(workspace: Workspace, text: Any) -> dict[str, Any]:
    """Validate a proposed harmone.toml and show its diff from the file on disk."""
    if not isinstance(text, str):
        raise ActionError("the configuration must be text")
    if len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise ActionError(f"the configuration is larger than {MAX_CONFIG_BYTES} bytes")
    name = workspace.config_path.name
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML ({exc})") from None
    config_mod.from_mapping(raw, name)
    current = workspace.config_path.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(current.splitlines(keepends=True), text.splitlines(keepends=True),
                                        fromfile=f"{name} (saved)", tofile=f"{name} (edited)"))
    return {"valid": True, "diff": diff, "changed": current != text}


def save_config(workspace: Workspace, text: Any, base: Any, confirm: Any = False) -> dict[str, Any]:
    """Validate and replace harmone.toml atomically, unless it changed since the page read it.

    An empty file is valid (every setting takes its default) but is rarely meant: it is saved
    only when ``confirm`` is true.
    """
    checked = check_config(workspace, text)
    if not str(text).strip() and confirm is not True:
        raise NeedsConfirmation(f"an empty {workspace.config_path.name} sets every setting to its default; "
                                f"confirm to save it")
    current = workspace.config_path.read_text(encoding="utf-8")
    if base != current:
        raise ActionError(f"{workspace.config_path.name} changed on disk since the page read it; reload and edit again")
    if checked["changed"]:
        atomic.write_text(workspace.config_path, text)
        record(workspace, LoopName.OPERATOR, "config", lines_changed=_changed_lines(checked["diff"]))
    return checked


def _changed_lines(diff: str) -> int:
    return sum(1 for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---")))


def run_event(workspace: Workspace, verb: str, described: Mapping[str, Any]) -> None:
    record(workspace, LoopName.OPERATOR, f"{verb}-{described['command']}", pid=described.get("pid"))
