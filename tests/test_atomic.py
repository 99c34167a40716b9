"""Atomic replacement: modes that follow the umask, and never a device, FIFO or socket replaced."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harmone import atomic
from harmone.errors import HarmonEError


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)],
                         ids=["umask-022", "umask-077", "umask-002"])
def test_a_new_file_gets_what_the_umask_leaves(tmp_path: Path, mask: int, expected: int) -> None:
    with umask(mask):
        atomic.write_text(tmp_path / "model.csv", "linear\n")
        with atomic.replacing(tmp_path / "export.csv") as tmp:
            tmp.write_text("a,b\n")
    assert mode(tmp_path / "model.csv") == mode(tmp_path / "export.csv") == expected


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "harmone.toml"
    path.write_text("old\n")
    path.chmod(0o640)
    with umask(0o022):
        atomic.write_text(path, "new\n")
    assert path.read_text() == "new\n" and mode(path) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["harmone.toml"]


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))


@pytest.mark.parametrize(("make", "kind"), [(_fifo, "a FIFO"), (_socket, "a socket"), (Path.mkdir, "a directory")])
def test_a_special_file_is_refused_not_replaced(tmp_path: Path, make, kind: str) -> None:
    path = tmp_path / "out"
    make(path)
    before = stat.S_IFMT(path.lstat().st_mode)
    for write in (lambda: atomic.write_text(path, "x"), lambda: atomic.replacing(path).__enter__()):
        with pytest.raises(HarmonEError, match=f"out: is {kind}, not a regular file; refusing to replace it"):
            write()
    assert stat.S_IFMT(path.lstat().st_mode) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary file left


def test_the_temporary_file_is_always_new(tmp_path: Path) -> None:
    """``O_EXCL`` and no link followed: a prepared name (a link to a device) is never opened."""
    target = tmp_path / "elsewhere"
    fd, tmp = atomic.new_temporary(tmp_path / "out.csv")
    os.close(fd)
    tmp.unlink()
    os.symlink(target, tmp)
    with pytest.raises(FileExistsError):
        atomic.create_new(tmp)
    assert not target.exists()
