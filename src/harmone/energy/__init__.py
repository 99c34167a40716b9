"""Energy meters: measured (RAPL, NVML) or estimated (CPU time), always labelled which.

``detect(config.energy)`` picks the best meter here; ``window(meter)`` measures a region
of code; ``EnergyAttributor`` turns coarse counters into honest energy per prediction;
``calibrate`` proposes the energy range that the switch score normalises with.
"""

from harmone.energy.attribution import EnergyAttributor
from harmone.energy.base import EnergyMeter, Measurement, MeterKind, ModelledCosts, WindowHandle, window
from harmone.energy.calibrate import (
    Calibration,
    calibrate,
    energy_range,
    load_calibration,
    normalise,
)
from harmone.energy.composite import CompositeMeter
from harmone.energy.detect import detect, rapl_status
from harmone.energy.estimator import DEFAULT_WATTS_PER_CORE, CpuTimeEstimator, Scope
from harmone.energy.fake import FakeMeter, ReplayMeter
from harmone.energy.nvml import NvmlMeter, probe_nvml
from harmone.energy.rapl import DEFAULT_SYSFS_ROOT, RaplMeter, RaplPermissionError
from harmone.energy.report import self_check
from harmone.workspace import CALIBRATION_FILE

__all__ = [
    "CALIBRATION_FILE",
    "DEFAULT_SYSFS_ROOT",
    "DEFAULT_WATTS_PER_CORE",
    "Calibration",
    "CompositeMeter",
    "CpuTimeEstimator",
    "EnergyAttributor",
    "EnergyMeter",
    "FakeMeter",
    "Measurement",
    "MeterKind",
    "ModelledCosts",
    "NvmlMeter",
    "RaplMeter",
    "RaplPermissionError",
    "ReplayMeter",
    "Scope",
    "WindowHandle",
    "calibrate",
    "detect",
    "energy_range",
    "load_calibration",
    "normalise",
    "probe_nvml",
    "rapl_status",
    "self_check",
    "window",
]
