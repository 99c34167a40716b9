"""Choose the best meter this machine offers, or the one the configuration names.

``auto``: readable RAPL, else the CPU-time estimator; a supported NVIDIA GPU is added to
either (a composite meter). Any other name is a meter of the ``harmone.meters`` group
(``harmone.energy.meters``): ``rapl`` and ``estimator`` force the CPU side (the GPU is still
added when present), ``fake`` is a counter that never moves, for simulated runs, and a
plugin package may add its own.
"""

from __future__ import annotations

import logging
from pathlib import Path

from harmone.config import EnergyConfig
from harmone.energy import meters
from harmone.energy.base import EnergyMeter
from harmone.energy.composite import CompositeMeter
from harmone.energy.estimator import CpuTimeEstimator, Scope
from harmone.energy.fake import FakeMeter
from harmone.energy.nvml import probe_nvml
from harmone.energy.rapl import DEFAULT_SYSFS_ROOT, RaplMeter, RaplPermissionError
from harmone.errors import EnergyError

logger = logging.getLogger(__name__)


def _auto_meter(config: EnergyConfig, scope: Scope, sysfs_root: Path) -> EnergyMeter:
    """Readable RAPL, else the CPU-time estimate."""
    try:
        return RaplMeter(sysfs_root)
    except RaplPermissionError as exc:
        # RAPL is there but locked: worth telling, since the fix is one command.
        logger.warning("energy: using the CPU-time estimate because %s", exc)
    except EnergyError:
        pass  # no RAPL here (a VM, a container): the estimate is the best there is
    return CpuTimeEstimator(watts_per_core=config.watts_per_core, scope=scope)


def detect(config: EnergyConfig, *, scope: Scope = "thread",
           sysfs_root: Path | str = DEFAULT_SYSFS_ROOT, gpu: bool = True) -> EnergyMeter:
    """The meter for ``config.meter``; forcing one that is unavailable here raises ``EnergyError``.

    ``auto`` chooses; any other name is a meter of the ``harmone.meters`` group (the built-in
    ``rapl``, ``estimator`` and ``fake``, or a plugin's). ``scope`` applies to software
    estimates only ("thread" or "process"); hardware counters always cover the whole package
    or device. A supported GPU is added to a CPU meter (not to ``fake``); ``gpu=False``
    skips the NVML probe.
    """
    if config.meter == "fake":
        return FakeMeter()
    if config.meter == "auto":
        cpu = _auto_meter(config, scope, Path(sysfs_root))
    else:
        cpu = meters.meter_source(config.meter).create(config, scope=scope, sysfs_root=Path(sysfs_root))
    gpu_meter = probe_nvml() if gpu else None
    if gpu_meter is None:
        return cpu
    return CompositeMeter([cpu, gpu_meter])


def rapl_status(sysfs_root: Path | str = DEFAULT_SYSFS_ROOT) -> str:
    """One line saying whether RAPL is readable here and, if not, why and how to fix it."""
    try:
        meter = RaplMeter(sysfs_root)
    except EnergyError as exc:
        return f"unavailable: {exc}"
    with meter:
        return f"readable: {meter.source}"
