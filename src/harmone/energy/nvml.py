"""Measured NVIDIA GPU energy through NVML's cumulative counter (optional extra ``gpu``).

``nvmlDeviceGetTotalEnergyConsumption`` counts millijoules since the driver loaded (Volta
and newer); older GPUs do not support it and are skipped. ``pynvml`` (from nvidia-ml-py)
is imported only when a GPU meter is asked for, so HarmonE runs without it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from harmone.energy.base import EnergyMeter
from harmone.errors import EnergyError

#: The counter counts whole millijoules.
NVML_RESOLUTION_UJ = 1000.0
#: The driver refreshes the counter with its power samples: tens of milliseconds on the
#: GPUs we know of; 0.1 s is the conservative figure.
NVML_UPDATE_INTERVAL_S = 0.1
_UJ_PER_MJ = 1000.0


def _import_pynvml() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # The legacy `pynvml` wrapper package warns on import that it is deprecated.
            warnings.simplefilter("ignore", FutureWarning)
            import pynvml
    except ImportError:
        raise EnergyError("NVIDIA energy needs the optional extra: pip install 'harmone[gpu]'") from None
    return pynvml


class NvmlMeter(EnergyMeter):
    """Energy of every supported NVIDIA GPU (or of ``device_indices``), summed."""

    kind = "measured"
    resolution_uj = NVML_RESOLUTION_UJ
    update_interval_s = NVML_UPDATE_INTERVAL_S

    def __init__(self, *, device_indices: Sequence[int] | None = None) -> None:
        self.device_indices = device_indices
        nvml = _import_pynvml()
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            raise EnergyError(f"NVML cannot start ({exc}): no NVIDIA driver or GPU here") from None
        self._nvml: Any = nvml
        try:
            self._handles, used = self._supported_devices(device_indices)
        except BaseException:
            nvml.nvmlShutdown()
            self._nvml = None
            raise
        self.devices_ = used
        self.source = "nvml:" + "+".join(f"gpu{i}" for i in used)

    def _supported_devices(self, device_indices: Sequence[int] | None) -> tuple[list[Any], list[int]]:
        nvml = self._nvml
        try:
            count = nvml.nvmlDeviceGetCount()
        except nvml.NVMLError as exc:
            raise EnergyError(f"NVML cannot list GPUs ({exc})") from None
        wanted = list(range(count)) if device_indices is None else list(device_indices)
        handles, used = [], []
        for index in wanted:
            if not 0 <= index < count:
                raise EnergyError(f"GPU {index} does not exist (NVML sees {count})")
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            except nvml.NVMLError as exc:
                if device_indices is not None:
                    raise EnergyError(f"GPU {index} cannot report cumulative energy ({exc}); "
                                      f"it needs a Volta or newer GPU") from None
                continue
            handles.append(handle)
            used.append(index)
        if not handles:
            raise EnergyError("no NVIDIA GPU here reports cumulative energy (needs Volta or newer)")
        return handles, used

    def read_uj(self) -> float:
        nvml = self._nvml
        if nvml is None:
            raise EnergyError(f"GPU meter {self.source} is closed")
        try:
            total_mj = 0
            for handle in self._handles:
                total_mj += nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        except nvml.NVMLError as exc:
            raise EnergyError(f"GPU meter {self.source}: reading failed ({exc})") from None
        return total_mj * _UJ_PER_MJ

    def close(self) -> None:
        if self._nvml is not None:
            nvml, self._nvml = self._nvml, None
            nvml.nvmlShutdown()


def probe_nvml() -> NvmlMeter | None:
    """A GPU meter when the extra, a driver and a supporting GPU are all present, else None."""
    try:
        return NvmlMeter()
    except EnergyError:
        return None
