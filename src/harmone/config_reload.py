"""Settings reach running processes: follow harmone.toml, take up a valid change, refuse the rest.

`harmone infer`, `harmone manage` and a live `harmone run` read harmone.toml when they start
and then follow it, so a file saved from the dashboard or an editor takes effect without a
restart. Their session asks ``ConfigFollower.poll`` after every prediction and whenever the
manager wakes; that costs one clock reading, and at most every ``CHECK_EVERY_S`` real
seconds a stat of the file. A new inode, modification time or size marks a change; once the
file has stayed so for one more look (an editor that writes in place is done by then, so a
half-written file is never read), the process reads and validates it and compares it,
setting by setting, with the settings in effect:

- an invalid file changes nothing: the running settings stay, and the error is reported
  once for that version of the file;
- a setting in ``config.FIXED_WHILE_RUNNING`` keeps its value (an error names it), the
  other changes are taken up, unless the mix of kept and new values is itself invalid;
- a file that changes no setting (a comment, a save without edits) reports nothing.

What happened becomes an event of its own source, ``config`` (``reload_events``): decision
``settings-changed`` naming each setting taken up with its old and new value, or ``error``.
Replays (simulated runs, experiments) do not follow the file: their settings are fixed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmone import config as config_mod
from harmone.config import FIXED_WHILE_RUNNING, Config
from harmone.errors import ConfigError
from harmone.knowledge import Action, Decision, Event, LoopName

#: Real seconds between two looks at harmone.toml (a stat) in a running process.
CHECK_EVERY_S = 1.0


@dataclass(frozen=True)
class Reload:
    """What one changed harmone.toml did to the settings in effect."""

    #: The settings in effect now (the previous ones when nothing was taken up).
    config: Config
    #: Settings taken up: dotted name -> (old value, new value).
    changed: Mapping[str, tuple[Any, Any]]
    #: Settings the process keeps although the file changed them: name -> (kept, asked).
    refused: Mapping[str, tuple[Any, Any]]
    #: Why the file, or part of it, was not taken up; None when all of it was.
    error: str | None = None


def take_up(current: Config, path: Path) -> Reload:
    """Read and validate ``path``; the settings a running process with ``current`` moves to."""
    try:
        asked = config_mod.load(path)
    except ConfigError as exc:
        return Reload(current, {}, {}, f"{exc}; the running settings are kept")
    before, after = config_mod.settings(current), config_mod.settings(asked)
    changed = {name: (before.get(name), value) for name, value in after.items() if before.get(name) != value}
    refused = {name: change for name, change in changed.items() if name in FIXED_WHILE_RUNNING}
    if not refused:
        return Reload(asked if changed else current, changed, {})
    why = "; ".join(f"{name} = {new!r} cannot change while running ({FIXED_WHILE_RUNNING[name]}): "
                    f"{old!r} is kept until a restart" for name, (old, new) in refused.items())
    kept = config_mod.with_settings(asked, {name: old for name, (old, _) in refused.items()})
    try:
        config_mod.check_across(kept, str(path))
    except ConfigError as exc:
        return Reload(current, {}, refused, f"{path}: {why}; with it kept the file is invalid ({exc}); "
                                            f"the running settings are kept")
    taken = {name: change for name, change in changed.items() if name not in refused}
    return Reload(kept if taken else current, taken, refused, f"{path}: {why}")


class ConfigFollower:
    """Follows one harmone.toml for a running process; ``poll`` is cheap enough for every step."""

    def __init__(self, path: Path, config: Config, *, every_s: float = CHECK_EVERY_S) -> None:
        self.path = Path(path)
        self._path = os.fspath(self.path)
        #: The settings in effect.
        self.config = config
        self.every_s = every_s
        #: ``time.monotonic()`` from which the next ``poll`` looks at the file.
        self.next_check_s = 0.0
        # The file's (inode, mtime, size) when last read; False before the first look, so a
        # change between the start of the process and that look is not missed.
        self._signature: tuple[int, int, int] | None | bool = False
        # The signature a change showed at the last look: read once the next look sees it again.
        self._settling: tuple[int, int, int] | None | bool = False

    def poll(self) -> Reload | None:
        """What a change of the file did since the last look; None when it did nothing.

        Looks (one stat) at most every ``every_s`` seconds; reads the file only when it changed
        and then stayed the same for one look.
        """
        now_s = time.monotonic()
        if now_s < self.next_check_s:
            return None
        self.next_check_s = now_s + self.every_s
        try:
            st = os.stat(self._path)
            signature: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            signature = None
        if signature == self._signature:
            return None
        if signature != self._settling:
            self._settling = signature
            return None
        self._signature = signature
        reload = take_up(self.config, self.path)
        self.config = reload.config
        return reload if reload.changed or reload.error is not None else None


def reload_events(reload: Reload, *, time_s: float, process: str) -> list[Event]:
    """The events that record ``reload`` in the knowledge base: an error, settings taken up, or both."""
    where = {"process": process, "pid": os.getpid()}
    events = []
    if reload.error is not None:
        refused = {name: {"kept": old, "asked": new} for name, (old, new) in reload.refused.items()}
        events.append(Event(time_s=time_s, loop=LoopName.CONFIG, action=Action.NONE, decision=Decision.ERROR,
                            observed={**where, "error": reload.error, **({"refused": refused} if refused else {})}))
    if reload.changed:
        changed = {name: {"from": old, "to": new} for name, (old, new) in reload.changed.items()}
        events.append(Event(time_s=time_s, loop=LoopName.CONFIG, action=Action.NONE,
                            decision=Decision.SETTINGS_CHANGED, observed={**where, "changed": changed}))
    return events
