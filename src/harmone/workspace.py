"""The on-disk layout of one deployment, and the one human-facing switch (`model.csv`).

```
harmone.toml               the Decision Map (config.py)
data/                      flow_data_train.csv, flow_data_test.csv
models/<kind>              the active version of each model kind (a link into versionedMR/)
versionedMR/<kind>/version_<n>/   every trained version: model, scaler, data snapshot, meta
knowledge/model.csv        name of the model kind that serves predictions
knowledge/knowledge.db     predictions, events and loop state (SQLite, WAL)
knowledge/calibration.json measured energy per prediction of each model (`harmone calibrate`)
knowledge/.retrain-*/      scratch of running retraining jobs (removed when they end)
experiment/                default output of `harmone experiment` and `harmone demo`
```

Every name above is defined here and nowhere else; other modules ask the workspace.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from harmone import atomic
from harmone import config as config_mod
from harmone.config import Config
from harmone.errors import WorkspaceError

#: What a model kind named in model.csv may look like: never a path, so never outside the workspace.
_MODEL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")

SUBDIRS = ("models", "versionedMR", "knowledge", "data")
TRAIN_FILE = "flow_data_train.csv"
TEST_FILE = "flow_data_test.csv"
MODEL_SWITCH_FILE = "model.csv"
DB_FILE = "knowledge.db"
CALIBRATION_FILE = "calibration.json"
#: Prefix of a retraining job's scratch directory inside knowledge/.
RETRAIN_SCRATCH_PREFIX = ".retrain-"
EXPERIMENT_DIR = "experiment"
#: Prefix of a version being written in versionedMR/<kind>/ (invisible until renamed).
VERSION_TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / config_mod.CONFIG_FILE

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def versions_dir(self) -> Path:
        return self.root / "versionedMR"

    @property
    def knowledge_dir(self) -> Path:
        return self.root / "knowledge"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def model_switch_path(self) -> Path:
        return self.knowledge_dir / MODEL_SWITCH_FILE

    @property
    def db_path(self) -> Path:
        return self.knowledge_dir / DB_FILE

    @property
    def calibration_path(self) -> Path:
        return self.knowledge_dir / CALIBRATION_FILE

    @property
    def train_path(self) -> Path:
        return self.data_dir / TRAIN_FILE

    @property
    def test_path(self) -> Path:
        return self.data_dir / TEST_FILE

    @property
    def experiment_dir(self) -> Path:
        return self.root / EXPERIMENT_DIR

    def version_dir(self, kind: str, version: int) -> Path:
        return self.versions_dir / kind / f"version_{version}"

    def active_link(self, kind: str) -> Path:
        """``models/<kind>``: the link to the active version of ``kind``."""
        return self.models_dir / kind

    def active_link_target(self, kind: str, version: int) -> str:
        """What ``models/<kind>`` holds for ``version``: a relative path, so the workspace can move."""
        return os.path.join("..", self.versions_dir.name, kind, f"version_{version}")

    @cached_property
    def config(self) -> Config:
        return config_mod.load(self.config_path)

    def use_task(self, name: str) -> bool:
        """Make the workspace serve task ``name`` (``[stream] task``); True when harmone.toml changed.

        Only a workspace with nothing trained for its present task can change: its versions
        and logged predictions would belong to the other task. The rewritten harmone.toml
        keeps every setting, with the new task's kinds to serve.
        """
        if self.config.stream.task == name:
            return False
        trained = [entry.name for entry in self.versions_dir.iterdir()] if self.versions_dir.is_dir() else []
        if trained:
            raise WorkspaceError(f"{self.root}: serves {self.config.stream.task} and holds trained versions of "
                                 f"{', '.join(sorted(trained))}; create a new workspace for {name} "
                                 f"(`harmone init --task {name}`)")
        atomic.write_text(self.config_path, config_mod.render(config_mod.for_task(self.config, name)))
        self.__dict__.pop("config", None)
        return True

    @classmethod
    def init(cls, root: Path, task: str | None = None) -> tuple[Workspace, bool]:
        """Create the layout and a default config (for ``task``, forecasting by default); returns
        (workspace, created_config).

        Existing files are left alone, so running it twice is harmless.
        """
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root}: exists and is not a directory")
        workspace = cls(root)
        for name in SUBDIRS:
            (root / name).mkdir(parents=True, exist_ok=True)
        created = not workspace.config_path.exists()
        if created:
            default = config_mod.Config()
            atomic.write_text(workspace.config_path,
                              config_mod.render(default if task is None else config_mod.for_task(default, task)))
        else:
            config_mod.load(workspace.config_path)  # refuse to bless a broken config
        return workspace, created

    @classmethod
    def open(cls, root: Path, config: Config | None = None) -> Workspace:
        """An existing workspace, with its config validated.

        ``config``: settings to use instead of the file's (a retraining child gets those of
        the manager that started it, whatever harmone.toml holds by now).
        """
        root = Path(root)
        workspace = cls(root)
        if not workspace.config_path.is_file():
            raise WorkspaceError(f"{root.resolve()}: not a HarmonE workspace (no {config_mod.CONFIG_FILE}; run `harmone init`)")
        for name in SUBDIRS:
            (root / name).mkdir(exist_ok=True)
        if config is not None:
            workspace.__dict__["config"] = config  # what the cached property would have read
        _ = workspace.config
        return workspace

    # -- the active-model switch ---------------------------------------------------------

    def read_active_model(self) -> str | None:
        """The model kind named in `knowledge/model.csv`, or None when the file is absent/empty."""
        try:
            text = self.model_switch_path.read_text(encoding="utf-8-sig")  # a BOM from an editor is no name
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise WorkspaceError(f"{self.model_switch_path}: cannot read ({exc.strerror}); it should be a file"
                                 f" naming the active model") from None
        except UnicodeDecodeError as exc:
            raise WorkspaceError(f"{self.model_switch_path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        for line in text.splitlines():
            name = line.strip().strip(",")
            if name and name.lower() not in {"model", "model_name"}:
                if not _MODEL_NAME.fullmatch(name):
                    raise WorkspaceError(f"{self.model_switch_path}: unknown model {name[:60]!r} (a model kind is"
                                         f" a plain name such as linear; paths are not accepted)")
                return name
        return None

    def write_active_model(self, kind: str) -> None:
        atomic.write_text(self.model_switch_path, f"{kind}\n")

    def follow_active_model(self) -> ActiveModelFollower:
        """A reader of `model.csv` for code that asks many times a second."""
        return ActiveModelFollower(self)


class ActiveModelFollower:
    """Re-reads `model.csv` only when it changed: ``read()`` then costs one stat.

    Inference asks before every prediction and the drift loop before every check; opening
    and parsing the file each time cost more than the check itself. The file is only ever
    replaced by a rename (``write_active_model``), so a new inode, mtime or size marks a
    change.
    """

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self.path = workspace.model_switch_path
        self._path = os.fspath(self.path)
        self._signature: tuple[int, int, int] | None | bool = False  # False: never read
        self._name: str | None = None

    def read(self) -> str | None:
        """The model kind named in `model.csv`, or None when the file is absent/empty."""
        try:
            st = os.stat(self._path)
            signature: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            signature = None
        if signature != self._signature:
            self._name = self._workspace.read_active_model()
            self._signature = signature
        return self._name
