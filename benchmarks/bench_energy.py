"""Cost of energy metering: one ``read_uj`` per meter, and attribution per prediction.

Target: metering must stay under 10 % of the cheapest model's prediction (~20 µs), so
under 2 µs per prediction. RAPL is timed over a fake sysfs tree in a temporary
directory (same code path: kept-open descriptors and ``os.pread``); on real sysfs the
kernel also reads a model-specific register, so expect somewhat more there.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harmone.energy import (
    CompositeMeter,
    CpuTimeEstimator,
    EnergyAttributor,
    EnergyMeter,
    FakeMeter,
    RaplMeter,
)
from harmone.energy.report import read_cost_us

TARGET_US_PER_PREDICTION = 2.0
WINDOW_SIZES = (1, 16, 64)
_PREDICTIONS = 20_000
_REPEATS = 5


def _fake_powercap(root: Path, packages: int) -> Path:
    for index in range(packages):
        zone = root / f"intel-rapl:{index}"
        zone.mkdir(parents=True)
        (zone / "name").write_text(f"package-{index}\n")
        (zone / "energy_uj").write_text(f"{123_456_789 + index}\n")
        (zone / "max_energy_range_uj").write_text("262143328850\n")
    return root


def _noop() -> None:
    pass


def _loop_s(step: Callable[[], None], flush: Callable[[], object], window: int) -> float:
    """Seconds for _PREDICTIONS steps with a flush every ``window`` steps."""
    start_s = time.perf_counter()
    for i in range(1, _PREDICTIONS + 1):
        step()
        if i % window == 0:
            flush()
    return time.perf_counter() - start_s


def _attribution_us(meter: EnergyMeter, window: int, *, live: bool) -> float:
    """Extra µs per prediction that attribution adds to an empty prediction step."""
    attributor = EnergyAttributor(meter)

    def live_step() -> None:
        attributor.resume()
        _noop()
        attributor.pause()

    step = live_step if live else _noop
    costs = []
    for _ in range(_REPEATS):
        bare_s = _loop_s(_noop, _noop, window)
        metered_s = _loop_s(step, attributor.take, window)
        costs.append(max(0.0, metered_s - bare_s) / _PREDICTIONS * 1e6)
    return statistics.median(costs)


def run() -> dict[str, object]:
    """Read costs per meter (µs) and attribution overhead per prediction (µs)."""
    with tempfile.TemporaryDirectory(prefix="harmone-bench-rapl-") as tmp:
        one = RaplMeter(_fake_powercap(Path(tmp) / "one", 1))
        two = RaplMeter(_fake_powercap(Path(tmp) / "two", 2))
        meters: dict[str, EnergyMeter] = {
            "estimator-thread": CpuTimeEstimator(scope="thread"),
            "estimator-process": CpuTimeEstimator(scope="process"),
            "rapl-fake-tree-1-package": one,
            "rapl-fake-tree-2-packages": two,
            "fake": FakeMeter(),
            "composite-rapl+estimator": CompositeMeter([one, CpuTimeEstimator()]),
        }
        read_us = {name: read_cost_us(meter, readings=20_000) for name, meter in meters.items()}
        attribution: dict[str, dict[str, float]] = {}
        for name in ("estimator-thread", "rapl-fake-tree-1-package", "fake"):
            for live in (True, False):
                mode = "live" if live else "continuous"
                attribution[f"{name}/{mode}"] = {
                    f"window_{w}": _attribution_us(meters[name], w, live=live) for w in WINDOW_SIZES}
        one.close()
        two.close()
    worst_us = max(max(row.values()) for row in attribution.values())
    within = {name: max(row.values()) < TARGET_US_PER_PREDICTION for name, row in attribution.items()}
    return {
        "read_uj_cost_us": read_us,
        "attribution_us_per_prediction": attribution,
        "modes": {
            "live": "resume/pause around every prediction (what the inference engine does), "
                    "take every window predictions",
            "continuous": "no pauses, take every window predictions (for callers that never pause)",
        },
        "target_us_per_prediction": TARGET_US_PER_PREDICTION,
        "worst_attribution_us_per_prediction": worst_us,
        "within_target": within,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
