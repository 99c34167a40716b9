"""One live retraining, in its own process: ``python -m harmone.mape.retrain_job ...``.

Started by ``SubprocessRetrainer`` so that fitting a model (seconds of CPU for the LSTM)
never stalls inference or the other loops. It reads its training data from a JSON file,
fits, stores and promotes the new version (``execute.retrain_version``), measures its own
energy at process scope, and writes the result as JSON to ``--result`` (atomically). The
exit code says whether it worked: 0 yes, 1 a user-facing problem (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harmone import atomic
from harmone.errors import HarmonEError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harmone.mape.retrain_job",
                                     description="retrain one model kind and promote the new version")
    parser.add_argument("--workspace", required=True, type=Path)
    parser.add_argument("--kind", required=True)
    parser.add_argument("--reason", required=True, choices=["drift", "periodic"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", required=True, type=Path, help="JSON file {\"values\": [...]}")
    parser.add_argument("--result", required=True, type=Path, help="where to write the result JSON")
    args = parser.parse_args(argv)

    from harmone.energy.detect import detect
    from harmone.mape.execute import RetrainRequest, retrain_version
    from harmone.workspace import Workspace

    try:
        workspace = Workspace.open(args.workspace)
        try:
            raw = json.loads(args.data.read_text(encoding="utf-8"))
            values = np.asarray(raw["values"], dtype=np.float64)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise HarmonEError(f"{args.data}: unreadable training data ({exc})") from None
        request = RetrainRequest(kind=args.kind, values=values, reason=args.reason, seed=args.seed)
        with detect(workspace.config.energy, scope="process") as meter:
            result = retrain_version(workspace, request, workspace.config, meter=meter)
        document = json.dumps(result.to_dict())
        atomic.write_text(args.result, document + "\n")
    except HarmonEError as exc:
        print(f"harmone retrain: error: {exc}", file=sys.stderr)
        return 1
    print(document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
