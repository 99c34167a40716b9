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
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harmone import atomic
from harmone.errors import HarmonEError

#: Seconds between two checks that the manager still runs.
WATCH_S = 0.1


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

    from harmone import config as config_mod
    from harmone.energy.detect import detect
    from harmone.mape.execute import RetrainRequest, retrain_version
    from harmone.workspace import Workspace

    try:
        # The manager's settings when given: harmone.toml may have changed since it started.
        workspace = Workspace.open(args.workspace, None if args.config is None else config_mod.load(args.config))
        config = workspace.config
        try:
            raw = json.loads(args.data.read_text(encoding="utf-8"))
            values = np.asarray(raw["values"], dtype=np.float64)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise HarmonEError(f"{args.data}: unreadable training data ({exc})") from None
        request = RetrainRequest(kind=args.kind, values=values, reason=args.reason, seed=args.seed)
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
    """End this process (SIGKILL-like: no cleanup, nothing promoted) once the manager is gone."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(WATCH_S)
        os._exit(3)

    if os.getppid() != parent_pid:
        os._exit(3)
    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
