"""Run the benchmarks and write their results to benchmarks/results/<name>.json.

Usage: python -m benchmarks [NAME ...]   (default: every bench_*.py module)
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    RESULTS.mkdir(exist_ok=True)
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== {name}", flush=True)
        load_before = _load()
        started = time.perf_counter()
        result = module.run()
        document = {
            "benchmark": name,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                        "cores": _cores(), "load_before": load_before, "load_after": _load()},
            "duration_s": round(time.perf_counter() - started, 2),
            "results": result,
        }
        path = RESULTS / f"{name}.json"
        path.write_text(json.dumps(document, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        print(f"-> {path.relative_to(HERE.parent)}", flush=True)
    return 0


def _load() -> list[float]:
    """1, 5 and 15-minute load averages: above the core count, figures are inflated."""
    import os

    return [round(v, 2) for v in os.getloadavg()]


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
