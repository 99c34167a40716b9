"""Output paths checked before anything is written, so a bad path never leaves work half done."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from harmone.errors import HarmonEError


def check_output_path(path: Path, *, what: str = "output", error: type[HarmonEError] = HarmonEError) -> Path:
    """``path`` if a file can be created there; otherwise a one-line error naming it.

    The parent must be an existing directory where a file can be created (tried with a
    temporary file, since permission bits say nothing for root or for /proc), and the path
    itself must not be a directory. Nothing is left behind.
    """
    path = Path(path)
    if str(path) in {"", "."}:
        raise error(f"{what} path is empty; give a file name")
    if path.is_dir():
        raise error(f"{path}: is a directory; give a file name for the {what}")
    parent = path.parent
    if not parent.exists():
        raise error(f"{path}: folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise error(f"{path}: {parent} is not a folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise error(f"{path}: the {what} file is not writable")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
    except OSError as exc:
        raise error(f"{path}: cannot write the {what} there ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)
    return path
