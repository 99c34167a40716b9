"""Crash-safe file replacement: other processes read these files while we write them.

A file is written under a fresh hidden name beside its destination, fsynced, and renamed
over it, so a reader sees the old content or the new, never a torn file. The temporary
file is always created new (``O_EXCL``, links not followed), so it can never be a device,
a FIFO or someone else's file; and a destination that exists but is not a regular file
(``/dev/null``, a FIFO, a socket) is refused rather than replaced.

File modes follow the umask, the way other tools do: a new file gets ``0666`` less the
umask, a replaced file keeps the mode it had.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harmone.errors import HarmonEError

#: Names of the file types a destination must not be, by ``stat.S_IFMT``.
_SPECIAL_TYPES = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO",
                  stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory"}


def fsync_path(path: Path) -> None:
    """Flush a file's (or a directory's) content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Persist a rename: the directory entry must reach the disk, not just the file."""
    fsync_path(directory)


def special_type(path: Path) -> str | None:
    """What ``path`` is when it exists and is not a regular file ("a FIFO"...); None otherwise.

    Links are followed: a link to a device is a device.
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise HarmonEError(f"{path}: cannot inspect ({exc.strerror or exc})") from None
    if stat.S_ISREG(mode):
        return None
    return _SPECIAL_TYPES.get(stat.S_IFMT(mode), "not a regular file")


def check_replaceable(path: Path) -> None:
    """Refuse a destination that exists and is not a regular file: it would be replaced by one."""
    kind = special_type(path)
    if kind is not None:
        raise HarmonEError(f"{path}: is {kind}, not a regular file; refusing to replace it")


def _existing_mode(path: Path) -> int | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else None


def create_new(path: Path, *, mode: int | None = None) -> int:
    """Create ``path``, which must not exist yet, and open it for writing; returns the descriptor.

    ``mode`` None: ``0666`` less the umask (the kernel applies it); else exactly ``mode``.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    if mode is not None:
        try:
            os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
    return fd


def new_temporary(path: Path) -> tuple[int, Path]:
    """A new hidden file beside ``path`` (``.<name>.<random>.tmp``), open for writing.

    It has the mode ``path`` will keep: the existing file's, else what the umask gives.
    """
    path = Path(path)
    mode = _existing_mode(path)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return create_new(tmp, mode=mode), tmp
        except FileExistsError:
            continue


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A new temporary file to fill; when the block ends without error it replaces ``path``.

    For writers that open a path themselves (a CSV export, a library's writer). The
    temporary file is fsynced and renamed over ``path`` in one step; on error it is removed
    and ``path`` is left as it was.
    """
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = new_temporary(path)
    os.close(fd)
    try:
        yield tmp
        fsync_path(tmp)
        check_replaceable(path)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_bytes(path: Path, data: bytes) -> None:
    """Write, fsync, rename: readers see the old content or the new, never a torn file."""
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = new_temporary(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def replace_symlink(link: Path, target: str) -> None:
    """Point `link` at `target` in one rename, so a reader never finds it missing."""
    link = Path(link)
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)
    fsync_dir(link.parent)
