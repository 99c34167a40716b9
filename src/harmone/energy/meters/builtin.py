"""The built-in meters: RAPL counters, the CPU-time estimate, and a counter that never moves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harmone.energy.meters import register


@register
class Rapl:
    """Intel/AMD RAPL package counters in the powercap sysfs tree (measured)."""

    name = "rapl"

    @classmethod
    def create(cls, config: Any, *, scope: str, sysfs_root: Path) -> Any:
        from harmone.energy.rapl import RaplMeter

        return RaplMeter(sysfs_root)


@register
class Estimator:
    """CPU time times a power per busy core (estimated, never a measurement)."""

    name = "estimator"

    @classmethod
    def create(cls, config: Any, *, scope: str, sysfs_root: Path) -> Any:
        from harmone.energy.estimator import CpuTimeEstimator

        return CpuTimeEstimator(watts_per_core=config.watts_per_core, scope=scope)  # type: ignore[arg-type]


@register
class Fake:
    """A counter that never moves: simulated runs and tests."""

    name = "fake"

    @classmethod
    def create(cls, config: Any, *, scope: str, sysfs_root: Path) -> Any:
        from harmone.energy.fake import FakeMeter

        return FakeMeter()
