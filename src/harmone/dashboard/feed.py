"""One reader of new rows for every open live page.

A single thread looks for new rows and events every ``POLL_S`` and builds the update once;
each open stream that is in step sends that same update. So ten open pages read the
knowledge base as often as one, and an inference process writing beside them barely notices.
A stream that is not in step (a reconnect from an older position) catches up with one read
of its own, then follows the shared updates. Streams sleep until the feed publishes (it
wakes each one's event loop), so an idle open page costs nothing between updates.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

import harmone.dashboard.views as views
from harmone.errors import WorkspaceError
from harmone.knowledge import KnowledgeStore
from harmone.workspace import Workspace

if TYPE_CHECKING:
    from harmone.dashboard.history import History

#: How often the feed looks for new rows: an update reaches a page within this plus its read.
POLL_S = 0.2
#: Shared updates kept for streams a little behind.
KEEP = 32

Position = tuple[int, int]


class LiveFeed:
    """Shared live updates: ``(start position, end position, JSON text)``, newest last."""

    def __init__(self, workspace: Workspace, history: History, closing: threading.Event) -> None:
        self.workspace = workspace
        self.history = history
        self.closing = closing
        self.changed = threading.Condition()
        self.updates: deque[tuple[Position, Position, str]] = deque(maxlen=KEEP)
        self.position: Position | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def ensure_running(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="live-feed", daemon=True)
                self._thread.start()

    def newest(self, store: KnowledgeStore | None) -> Position:
        return (store.last_row_id(), store.last_event_id()) if store is not None else (0, 0)

    def _run(self) -> None:
        store: KnowledgeStore | None = None
        try:
            while not self.closing.is_set():
                if store is None and self.workspace.db_path.is_file():
                    store = self._open()
                newest = self.newest(store)
                if self.position is None:
                    self._publish(None, newest, None)
                elif newest != self.position:
                    start = self.position if newest >= self.position else (0, 0)
                    self._publish(start, newest, update(self.workspace, self.history, start))
                self.closing.wait(POLL_S)
        finally:
            if store is not None:
                store.close()

    def _open(self) -> KnowledgeStore | None:
        """The knowledge base, or None while the process that created it has not set it up yet."""
        try:
            return KnowledgeStore.open_readonly(self.workspace.db_path, timeout_s=2.0)
        except WorkspaceError:
            return None

    def _publish(self, start: Position | None, end: Position, data: tuple[Position, str] | None) -> None:
        with self.changed:
            if start is not None and data is not None:
                end = data[0]
                self.updates.append((start, end, data[1]))
            self.position = end
            self.changed.notify_all()
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that stream's event loop has closed
                pass

    def subscribe(self) -> asyncio.Event:
        """An event set (in the calling event loop) at every publication; ``unsubscribe`` when done."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self.changed:
            self._waiters.add(waiter)
        return waiter[1]

    def unsubscribe(self, event: asyncio.Event) -> None:
        with self.changed:
            self._waiters = {w for w in self._waiters if w[1] is not event}

    def after(self, position: Position) -> list[tuple[Position, str]]:
        """Shared updates that continue from ``position``, in order (empty when none does)."""
        out = []
        with self.changed:
            for start, end, text in self.updates:
                if start == position:
                    out.append((end, text))
                    position = end
        return out


def update(workspace: Workspace, history: History, position: Position) -> tuple[Position, str]:
    """The live update after ``position`` as JSON text, and the position it ends at."""
    import json

    data: dict[str, Any] = views.live(workspace, history, position[0], position[1])
    return (data["last_row_id"], data["last_event_id"]), json.dumps(data, allow_nan=False)
