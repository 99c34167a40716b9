"""Start HarmonE's own child processes so that nothing in a workspace can run inside them.

A child started as ``python -m harmone`` in the workspace would import from the workspace
first: a ``numpy.py`` or a ``harmone/`` folder placed there would run instead of the real
ones. Every child HarmonE starts (the dashboard's ``infer`` and ``manage``, the manager's
retraining) is therefore built here:

- the interpreter is this one, by its absolute path (never looked up on ``PATH``);
- imports are isolated (``-I``: no current directory or script folder, no user site, no
  ``PYTHON*`` variables on the import path); only the folder this very ``harmone`` package
  was loaded from is put in front, so the child runs the same code as its parent;
- it starts in a neutral directory (not the workspace), in its own session, with no input,
  so a Ctrl-C meant for the parent does not reach it and relative paths cannot point into
  the workspace by accident.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

#: Where children start: a directory that holds no code of anyone's.
NEUTRAL_DIR = os.path.abspath(os.sep)


def interpreter() -> str:
    """This interpreter's absolute path (a virtual environment's link is kept, not resolved)."""
    if not sys.executable:
        raise RuntimeError("the Python interpreter's path is unknown (sys.executable is empty)")
    return os.path.abspath(sys.executable)


def package_root() -> str:
    """The folder the running ``harmone`` package was imported from (its parent directory)."""
    import harmone

    return os.path.dirname(os.path.dirname(os.path.abspath(harmone.__file__)))


def command(entry: str, *args: str) -> list[str]:
    """The argv that calls ``entry`` (``"package.module:function"``) of this harmone in an isolated child.

    The function gets ``args`` as its argument list and its return value is the exit code.
    """
    module, _, function = entry.partition(":")
    if not module.startswith("harmone") or not function.isidentifier():
        raise ValueError(f"{entry!r} is not a harmone entry point (package.module:function)")
    script = (f"import sys; sys.path.insert(0, sys.argv[1]); from {module} import {function} as entry; "
              f"sys.exit(entry(sys.argv[2:]))")
    return [interpreter(), "-I", "-c", script, package_root(), *args]


def cli_command(*args: str) -> list[str]:
    """The argv of ``harmone ARGS...`` as an isolated child (the dashboard's runs)."""
    return command("harmone.cli:main", *args)


Output = IO[bytes] | int | None


def start(argv: Sequence[str], *, stdout: Output = subprocess.DEVNULL, stderr: Output = subprocess.DEVNULL,
          cwd: str | Path = NEUTRAL_DIR) -> subprocess.Popen[bytes]:
    """Start ``argv`` (built by ``command``) with no input, in its own session, in ``cwd``."""
    return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=cwd,
                            start_new_session=True)
