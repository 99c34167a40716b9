"""Output paths checked before anything is written: one check for every file or folder a command writes.

Every output a user names (``export -o``, ``data drift --plot``, ``experiment --out``, the
matrix output folder) goes through here, so none of them can:

- replace a file of a workspace's own state (``knowledge/``, ``models/``, ``versionedMR/``,
  ``data/``, ``harmone.toml``), whichever workspace it belongs to and however the path
  spells it (links and ``..`` are resolved first);
- turn a device, a FIFO or a socket into a regular file (only ``-``, standard output, is
  accepted besides a regular file or a new name, and only where a command offers it);
- leave work half done because the folder is missing or not writable.
"""

from __future__ import annotations

import os
from pathlib import Path

from harmone.atomic import create_new, special_type
from harmone.errors import HarmonEError

#: The name that means standard output where a command accepts it.
STDOUT = "-"


def _state_names() -> tuple[str, ...]:
    from harmone.config import CONFIG_FILE
    from harmone.workspace import SUBDIRS

    return (*SUBDIRS, CONFIG_FILE)


def workspace_state(path: Path) -> Path | None:
    """The workspace state entry (``<ws>/knowledge``...) that ``path`` lies in, or None.

    A workspace is any folder holding ``harmone.toml``; every folder above the resolved
    path is looked at, so a copy nested in another workspace is protected too.
    """
    real = Path(os.path.realpath(path))
    names = _state_names()
    for root in real.parents:
        if not (root / names[-1]).is_file():
            continue
        first = real.relative_to(root).parts[0]
        if first in names:
            return root / first
    return None


def _refuse_state(path: Path, what: str, error: type[HarmonEError]) -> None:
    state = workspace_state(path)
    if state is not None:
        raise error(f"{path}: inside the workspace's own state ({state}); write the {what} elsewhere")


def _refuse_special_names(text: str, what: str, error: type[HarmonEError]) -> None:
    if text in {"", "."}:
        raise error(f"{what} path is empty; give a file name")
    if text == STDOUT:
        raise error(f"'-' (standard output) is not accepted for the {what}; give a file name")


def _probe(path: Path, folder: Path, what: str, error: type[HarmonEError]) -> None:
    """Create and remove a file in ``folder``: permission bits say nothing for root or for /proc."""
    probe = folder / f".{path.name or 'output'}.{os.getpid()}.probe"
    try:
        os.close(create_new(probe))
    except OSError as exc:
        raise error(f"{path}: cannot write the {what} there ({exc.strerror or exc})") from None
    probe.unlink()


def check_output_path(path: Path, *, what: str = "output", error: type[HarmonEError] = HarmonEError,
                      stdout_hint: bool = False) -> Path:
    """``path`` if the ``what`` file may be written there; otherwise a one-line error naming it.

    Refused: an empty name, ``-`` (callers that offer standard output handle it first), a
    file of a workspace's state, anything that exists and is not a regular file, a folder
    that does not exist or cannot be written. Nothing is left behind.
    """
    _refuse_special_names(str(path), what, error)
    path = Path(path)
    _refuse_state(path, what, error)
    kind = special_type(path)
    if kind == "a directory":
        raise error(f"{path}: is a directory; give a file name for the {what}")
    if kind is not None:
        alternative = " (or '-' for standard output)" if stdout_hint else ""
        raise error(f"{path}: is {kind}; the {what} must be a regular file{alternative}")
    parent = path.parent
    if not parent.exists():
        raise error(f"{path}: folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise error(f"{path}: {parent} is not a folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise error(f"{path}: the {what} file is not writable")
    _probe(path, parent, what, error)
    return path


def check_output_dir(path: Path, *, what: str = "results", error: type[HarmonEError] = HarmonEError) -> Path:
    """Create the output folder ``path``, or say why it cannot be, before any work is done."""
    _refuse_special_names(str(path), what, error)
    path = Path(path)
    _refuse_state(path, what, error)
    if path.exists() and not path.is_dir():
        raise error(f"{path}: not a directory ({special_type(path) or 'a file'}); the {what} need a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(f"{path}: cannot write {what} there ({exc.strerror or exc})") from None
    _probe(path / "x", path, what, error)
    return path
