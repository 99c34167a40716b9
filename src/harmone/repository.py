"""The versioned model repository and the active model of each kind.

Every trained model becomes an immutable version directory
``versionedMR/<kind>/version_<n>/`` holding the model arrays, its own scaler, a snapshot of
the data it was trained on (what version reuse compares against) and ``meta.json``.
``models/<kind>`` is a symbolic link to the active version, swapped in one rename, so a
reader sees the old version or the new one and never a mixture.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harmone import atomic
from harmone.errors import ModelError
from harmone.models import Model, check_kind, kinds, model_class
from harmone import scaling
from harmone.workspace import VERSION_TMP_PREFIX, Workspace

if TYPE_CHECKING:
    from harmone.training import TrainedModel

SCALER_FILE = "scaler.json"
SNAPSHOT_FILE = "data.csv"
META_FILE = "meta.json"
_VERSION_DIR = re.compile(r"^version_(\d+)$")


class ServingModel:
    """A loaded version ready to predict on the original scale of the stream."""

    def __init__(self, kind: str, version: int, model: Model, scaler: scaling.Representation) -> None:
        self.kind = kind
        self.version = version
        self.model = model
        self.scaler = scaler
        #: Past values this version needs (None: whatever the engine passes, as stored before).
        self.context_length = scaler.context
        self._predict_next = scaler.predict_next

    def predict_next(self, window: Sequence[float]) -> float:
        """Next value from the last raw values, encoded with this version's own representation."""
        return self._predict_next(self.model, window)

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Batch form of `predict_next`, for evaluation."""
        return self.scaler.predict(self.model, windows)


class ModelRepository:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        #: ``models/<kind>`` as a string, and each link target seen with its version: the
        #: serving path asks for the active version before every prediction, so the answer
        #: costs one readlink and two dictionary lookups.
        self._links: dict[str, str] = {}
        self._parsed: dict[tuple[str, str], int | None] = {}

    # -- reading ---------------------------------------------------------------------------

    def version_dir(self, kind: str, version: int) -> Path:
        """The version's directory; one that resolves outside ``versionedMR/<kind>`` is an error."""
        directory = self.workspace.version_dir(check_kind(kind), version)
        if directory.is_symlink():
            inside = (self.workspace.versions_dir / kind).resolve()
            if inside not in directory.resolve().parents:
                raise ModelError(f"{directory}: a link leading outside the workspace ({os.readlink(directory)});"
                                 f" versions are plain directories")
        return directory

    def versions(self, kind: str) -> list[int]:
        """Stored versions of `kind`, oldest first; half-written ones are invisible."""
        root = self.workspace.versions_dir / check_kind(kind)
        if not root.is_dir():
            return []
        found = []
        for entry in os.scandir(root):
            match = _VERSION_DIR.match(entry.name)
            if match and entry.is_dir():
                found.append(int(match.group(1)))
        return sorted(found)

    def trained_kinds(self) -> list[str]:
        """Model kinds that have an active version."""
        root = self.workspace.models_dir
        if not root.is_dir():
            return []
        known = set(kinds())
        return sorted(p.name for p in root.iterdir() if p.name in known and self.active_version(p.name))

    def active_version(self, kind: str) -> int | None:
        """The version `models/<kind>` points at; cheap enough to call on every prediction.

        Always reads the link (a promotion is seen at the next call); only parsing a target
        not seen before costs more than the readlink itself.
        """
        link = self._links.get(kind)
        if link is None:
            link = self._links[kind] = os.fspath(self.workspace.active_link(check_kind(kind)))
        try:
            target = os.readlink(link)
        except OSError:
            return None
        try:
            return self._parsed[link, target]
        except KeyError:
            version = self._parsed[link, target] = self._link_version(kind, link, target)
            return version

    def _link_version(self, kind: str, link: str, target: str) -> int | None:
        """The version a new link target names; one leading anywhere but ``versionedMR/<kind>`` is an error."""
        match = _VERSION_DIR.match(os.path.basename(target))
        if not match:
            return None
        version = int(match.group(1))
        if target != self.workspace.active_link_target(kind, version) and \
                Path(link).resolve() != self.workspace.version_dir(kind, version).resolve():
            raise ModelError(f"{link}: a link leading outside the workspace's versions of {kind} ({target});"
                             f" promote a stored version instead (`harmone train` or the dashboard)")
        return version

    def meta(self, kind: str, version: int) -> dict[str, Any]:
        path = self.version_dir(kind, version) / META_FILE
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"{path}: version metadata missing") from None
        except (ValueError, OSError) as exc:  # not JSON, not UTF-8, unreadable
            raise ModelError(f"{path}: corrupt version metadata ({exc})") from None
        if not isinstance(meta, dict):
            raise ModelError(f"{path}: corrupt version metadata (expected a JSON object)")
        return meta

    def load(self, kind: str, version: int) -> ServingModel:
        directory = self.version_dir(kind, version)
        if not directory.is_dir():
            raise ModelError(f"{directory}: no version {version} of model {kind!r}")
        has_meta = (directory / META_FILE).exists()
        meta = self.meta(kind, version) if has_meta else {}
        if has_meta:
            self._check_window(directory, meta)  # a damaged version fails here
        model = model_class(kind).load(directory)
        selected = meta.get("metrics", {}).get("selected") if isinstance(meta.get("metrics"), dict) else None
        model.selected_ = dict(selected) if isinstance(selected, dict) else {}
        scaler_path = directory / SCALER_FILE
        try:
            scaler = scaling.from_dict(json.loads(scaler_path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ModelError(f"{scaler_path}: scaler missing") from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{scaler_path}: corrupt scaler ({exc})") from None
        trained = meta.get("metrics", {}).get("context") if isinstance(meta.get("metrics"), dict) else None
        if scaler.context is not None and isinstance(trained, int) and scaler.context != trained:
            raise ModelError(f"{scaler_path}: context {scaler.context} differs from the {trained} past values the"
                             f" version was trained on ({META_FILE}); the files do not belong together")
        return ServingModel(kind, version, model, scaler)

    def load_active(self, kind: str) -> ServingModel:
        version = self.active_version(kind)
        if version is None:
            raise ModelError(f"model {kind!r} has no active version (run `harmone train`)")
        return self.load(kind, version)

    def snapshot(self, kind: str, version: int) -> Any:
        """The data version `version` was trained on, as its task holds it."""
        from harmone import tasks

        return tasks.of_kind(kind).read_training(self.version_dir(kind, version) / SNAPSHOT_FILE)

    def _check_window(self, directory: Path, meta: Mapping[str, Any]) -> None:
        """A version serves only the window it was trained with (older versions did not record it)."""
        trained = meta.get("input_length")
        now = self.workspace.config.stream.input_length
        if isinstance(trained, int) and not isinstance(trained, bool) and trained != now:
            raise ModelError(f"{directory}: trained on windows of {trained} values, but [stream] input_length is"
                             f" now {now}; set it back or retrain (`harmone train`)")

    # -- writing ---------------------------------------------------------------------------

    def add_version(self, trained: TrainedModel, *, reason: str, extra_meta: Mapping[str, Any] | None = None) -> int:
        """Store a trained model as the next version; it appears complete or not at all."""
        from harmone import tasks

        task = tasks.of_kind(check_kind(trained.kind))
        root = self.workspace.versions_dir / trained.kind
        root.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temporaries(root)
        tmp = root / f"{VERSION_TMP_PREFIX}{os.getpid()}-{time.monotonic_ns()}"
        tmp.mkdir()
        try:
            trained.model.save(tmp)
            (tmp / SCALER_FILE).write_text(json.dumps(trained.scaler.to_dict()), encoding="utf-8")
            (tmp / SNAPSHOT_FILE).write_text(task.format_data(trained.snapshot), encoding="utf-8")
            meta = {
                "kind": trained.kind,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "reason": reason,
                "params": dict(trained.params),
                "metrics": dict(trained.metrics),
                "train_time_s": trained.train_time_s,
                "data": task.describe(trained.snapshot),
                "input_length": self.workspace.config.stream.input_length,
                **dict(extra_meta or {}),
            }
            for path in tmp.iterdir():
                atomic.fsync_path(path)
            atomic.fsync_dir(tmp)
            version = self._publish(tmp, root, meta)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return version

    def promote(self, kind: str, version: int) -> None:
        """Make `version` the active version of `kind` in one atomic rename."""
        check_kind(kind)
        if not self.version_dir(kind, version).is_dir():
            raise ModelError(f"{self.version_dir(kind, version)}: no version {version} of model {kind!r}")
        self.workspace.models_dir.mkdir(parents=True, exist_ok=True)
        link = self.workspace.active_link(kind)
        if link.exists() and not link.is_symlink():
            raise ModelError(f"{link}: expected a link to the active version, found a plain file or directory")
        atomic.replace_symlink(link, self.workspace.active_link_target(kind, version))

    def prune(self, kind: str, keep: int) -> list[int]:
        """Remove all but the newest ``keep`` versions of ``kind`` and the active one; the removed.

        Each removal is one rename out of sight (``.tmp-`` names are invisible to readers)
        before the files go, so a reader sees a version complete or not at all.
        """
        stored = self.versions(kind)
        active = self.active_version(kind)
        removed = [v for v in stored[:-keep] if v != active] if keep > 0 else []
        for version in removed:
            hidden = self.workspace.versions_dir / kind / f"{VERSION_TMP_PREFIX}pruned-{version}-{os.getpid()}"
            try:
                os.rename(self.version_dir(kind, version), hidden)
            except FileNotFoundError:
                continue
            shutil.rmtree(hidden, ignore_errors=True)
        return removed

    def clear(self) -> None:
        """Remove every active model and every stored version."""
        for root in (self.workspace.models_dir, self.workspace.versions_dir):
            if root.is_dir():
                for entry in root.iterdir():
                    if entry.is_symlink() or entry.is_file():
                        entry.unlink()
                    else:
                        shutil.rmtree(entry)

    # -- internals -------------------------------------------------------------------------

    def _publish(self, tmp: Path, root: Path, meta: dict[str, Any]) -> int:
        version = max(self.versions(meta["kind"]), default=0) + 1
        while True:
            meta["version"] = version
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
            atomic.fsync_path(tmp / META_FILE)
            target = root / f"version_{version}"
            try:
                # A plain rename never replaces a non-empty directory: a racing writer that
                # took this number makes us take the next one.
                if target.exists():
                    raise FileExistsError(target)
                os.rename(tmp, target)
            except (FileExistsError, OSError) as exc:
                if not target.exists():
                    raise ModelError(f"{target}: cannot store version ({exc})") from None
                version += 1
                continue
            atomic.fsync_dir(root)
            return version

    def remove_stale_temporaries(self) -> list[Path]:
        """Half-written and half-pruned versions (``.tmp-*``) whose writer is gone; the paths removed.

        Run by every command that writes versions, under its locks (``train``, and ``manage``
        and ``run`` when the manager starts), so a killed writer's leftovers go at the next run.
        """
        removed: list[Path] = []
        root = self.workspace.versions_dir
        for kind_dir in sorted(root.iterdir()) if root.is_dir() else []:
            if kind_dir.is_dir() and not kind_dir.name.startswith("."):
                removed += self._remove_stale_temporaries(kind_dir)
        return removed

    @staticmethod
    def _remove_stale_temporaries(root: Path) -> list[Path]:
        """Leftovers in ``root`` of a writer that died mid-way: its process is gone, or an hour passed."""
        cutoff = time.time() - 3600
        removed = []
        for entry in root.glob(VERSION_TMP_PREFIX + "*"):
            try:
                if _writer_alive(entry.name) and entry.stat().st_mtime >= cutoff:
                    continue
            except FileNotFoundError:
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        return removed


#: ``.tmp-<pid>-<ns>`` (a version being written) and ``.tmp-pruned-<version>-<pid>`` (being removed).
_TMP_WRITER = re.compile(re.escape(VERSION_TMP_PREFIX) + r"(?:([0-9]+)-[0-9]+|pruned-[0-9]+-([0-9]+))")


def _writer_alive(name: str) -> bool:
    """Whether the process named in a temporary version's name still runs (unknown names: yes)."""
    match = _TMP_WRITER.fullmatch(name)
    if match is None:
        return True
    pid = int(match.group(1) or match.group(2))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
