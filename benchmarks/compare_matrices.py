"""Compare two matrix runs cell by cell: ``python -m benchmarks.compare_matrices OLD_DIR NEW_DIR OUT.json``.

Every figure of every approach in every cell (stream, seed) that both runs hold is compared:
counts exactly, floats within a relative 1e-9 (the last bits may differ between processors).
What a change that must not move a task's results is checked with: run the same matrix
command on the code before and after it, then compare.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

FIGURES = ("r2", "skill", "energy_uj_per_prediction", "switches", "reuses", "retrains", "drift_detections",
           "retrain_failures", "predictions")


def _cells(directory: Path) -> dict[tuple[str, int], dict[str, Any]]:
    out = {}
    for path in sorted((directory / "cells").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        out[record["cell"]["stream"], record["cell"]["seed"]] = record["approaches"]
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a))
    return a == b


def compare(old_dir: Path, new_dir: Path) -> dict[str, Any]:
    old, new = _cells(old_dir), _cells(new_dir)
    shared = sorted(set(old) & set(new))
    differing = []
    compared = 0
    for cell in shared:
        for approach in sorted(set(old[cell]) & set(new[cell])):
            for figure in FIGURES:
                a, b = old[cell][approach].get(figure), new[cell][approach].get(figure)
                compared += 1
                if not _same(a, b):
                    differing.append({"stream": cell[0], "seed": cell[1], "approach": approach, "figure": figure,
                                      "old": a, "new": b})
    return {"cells": len(shared), "only_old": len(set(old) - set(new)), "only_new": len(set(new) - set(old)),
            "figures_compared": compared, "figures_differing": len(differing), "differing": differing[:50]}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m benchmarks.compare_matrices OLD_DIR NEW_DIR OUT.json", file=sys.stderr)
        return 2
    result = compare(Path(argv[0]), Path(argv[1]))
    Path(argv[2]).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "differing"}))
    return 0 if not result["figures_differing"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
