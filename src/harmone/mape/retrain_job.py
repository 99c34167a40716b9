"""One live retraining, in its own process (``execute.child_command``).

Started by ``SubprocessRetrainer`` so that fitting a model (seconds of CPU for the LSTM)
never stalls inference or the other loops. It reads its training data from a JSON file,
fits and stores the new version unpromoted (``execute.retrain_version``; the manager
promotes), measures its own energy at process scope, and writes the result as JSON to
``--result`` (atomically). The exit code says whether it worked: 0 yes, 1 a user-facing
problem (message on stderr). It dies with its manager: a watchdog thread ends it as soon
as ``--parent-pid`` is no longer its parent.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from harmone import atomic
from harmone.errors import HarmonEError

#: Seconds between two checks that the manager still runs (where the kernel cannot tell us).
WATCH_S = 0.1
#: ``prctl`` option: the signal this process gets when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harmone.mape.retrain_job",
                                     description="retrain one model kind and promote the new version")
    parser.add_argument("--workspace", required=True, type=Path)
    parser.add_argument("--kind", required=True)
    parser.add_argument("--reason", required=True, choices=["drift", "periodic"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", required=True, type=Path, help="JSON file {\"values\": [...]}")
    parser.add_argument("--result", required=True, type=Path, help="where to write the result JSON")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    parser.add_argument("--config", type=Path, default=None,
                        help="the manager's settings (default: the workspace's harmone.toml)")
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        _watch_parent(args.parent_pid)


    from harmone import config as config_mod, tasks
    from harmone.energy.detect import detect
    from harmone.mape.execute import RetrainRequest, retrain_version
    from harmone.workspace import Workspace

    try:
        # The manager's settings when given: harmone.toml may have changed since it started.
        workspace = Workspace.open(args.workspace, None if args.config is None else config_mod.load(args.config))
        config = workspace.config
        try:
            data = tasks.of_kind(args.kind).from_json(json.loads(args.data.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise HarmonEError(f"{args.data}: unreadable training data ({exc})") from None
        request = RetrainRequest(kind=args.kind, data=data, reason=args.reason, seed=args.seed)
        with detect(config.energy, scope="process") as meter:
            result = retrain_version(workspace, request, config, meter=meter, promote=False)
        document = json.dumps(result.to_dict())
        atomic.write_text(args.result, document + "\n")
    except HarmonEError as exc:
        print(f"harmone retrain: error: {exc}", file=sys.stderr)
        return 1
    print(document)
    return 0


def _watch_parent(parent_pid: int) -> None:
    """End this process (SIGKILL: no cleanup, nothing promoted) once the manager is gone.

    On Linux the kernel does it the moment the manager dies (``PR_SET_PDEATHSIG``), with
    no wait for this process's threads or the GIL; polling the parent pid stays as the
    fallback elsewhere (within ``WATCH_S`` plus scheduling).
    """
    _kill_with_parent()

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(WATCH_S)
        os._exit(3)

    if os.getppid() != parent_pid:  # the manager died before the kernel was asked to tell
        os._exit(3)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _kill_with_parent() -> None:
    """Ask Linux for SIGKILL when the parent dies; a no-op where prctl is not there."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
