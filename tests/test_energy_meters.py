"""Every meter meets the contract; estimator, GPU, composite, fakes and detection behave."""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import harmone.energy as energy
from harmone import testing
from harmone.config import EnergyConfig
from harmone.energy import (
    CompositeMeter,
    CpuTimeEstimator,
    EnergyMeter,
    FakeMeter,
    NvmlMeter,
    RaplMeter,
    ReplayMeter,
    detect,
    probe_nvml,
    self_check,
    window,
)
from harmone.errors import EnergyError


def spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


# --- a stand-in for pynvml (nvidia-ml-py), injected through sys.modules ---------------

class FakeNVMLError(Exception):
    pass


def fake_pynvml(energy_mj: dict[int, int], *, unsupported: tuple[int, ...] = (),
                init_fails: bool = False) -> types.ModuleType:
    """A module with the NVML calls the GPU meter makes; counters in millijoules."""
    module = types.ModuleType("pynvml")
    module.NVMLError = FakeNVMLError  # type: ignore[attr-defined]
    module.calls = []  # type: ignore[attr-defined]

    def init() -> None:
        module.calls.append("init")  # type: ignore[attr-defined]
        if init_fails:
            raise FakeNVMLError("Driver Not Loaded")

    def energy_of(handle: int) -> int:
        if handle in unsupported:
            raise FakeNVMLError("Not Supported")
        return energy_mj[handle]

    module.nvmlInit = init  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: module.calls.append("shutdown")  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: len(energy_mj)  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda index: index  # type: ignore[attr-defined]
    module.nvmlDeviceGetTotalEnergyConsumption = energy_of  # type: ignore[attr-defined]
    return module


@pytest.fixture
def no_pynvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError


def powercap_tree(root: Path) -> Path:
    zone = root / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text("1000\n")
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    return root


# --- one check suite over every meter --------------------------------------------------

MeterFactory = Callable[[Path, pytest.MonkeyPatch], EnergyMeter]


def _nvml(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> EnergyMeter:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml({0: 10}))
    return NvmlMeter()


FACTORIES: dict[str, MeterFactory] = {
    "estimator-thread": lambda tmp, mp: CpuTimeEstimator(scope="thread"),
    "estimator-process": lambda tmp, mp: CpuTimeEstimator(scope="process"),
    "rapl": lambda tmp, mp: RaplMeter(powercap_tree(tmp / "powercap")),
    "nvml": _nvml,
    "fake": lambda tmp, mp: FakeMeter(),
    "replay": lambda tmp, mp: ReplayMeter([float(i) for i in range(10)]),
    "composite": lambda tmp, mp: CompositeMeter([CpuTimeEstimator(), FakeMeter(kind="measured")]),
}


@pytest.fixture(params=sorted(FACTORIES))
def any_meter(request: pytest.FixtureRequest, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[EnergyMeter]:
    meter = FACTORIES[request.param](tmp_path, monkeypatch)
    yield meter
    meter.close()


def test_every_meter_meets_the_contract(any_meter: EnergyMeter) -> None:
    assert any_meter.kind in ("measured", "estimated")
    assert isinstance(any_meter.source, str) and any_meter.source
    assert any_meter.resolution_uj >= 0
    assert any_meter.update_interval_s >= 0
    assert any_meter.describe() == {"kind": any_meter.kind, "source": any_meter.source,
                                    "resolution_uj": any_meter.resolution_uj}
    readings = [any_meter.read_uj() for _ in range(3)]
    assert all(isinstance(r, float) for r in readings)
    assert readings == sorted(readings)  # a cumulative counter never goes back
    with window(any_meter) as measured:
        spin(0.001)
    assert measured.measurement is not None
    assert measured.measurement.energy_uj >= 0
    assert measured.measurement.duration_s > 0
    assert (measured.measurement.kind, measured.measurement.source) == (any_meter.kind, any_meter.source)
    any_meter.close()
    any_meter.close()  # closing twice is harmless


def test_public_names_are_pinned() -> None:
    assert set(energy.__all__) == {
        "CALIBRATION_FILE", "DEFAULT_SYSFS_ROOT", "DEFAULT_WATTS_PER_CORE", "Calibration",
        "CompositeMeter", "CpuTimeEstimator", "EnergyAttributor", "EnergyMeter", "FakeMeter",
        "Measurement", "MeterKind", "ModelledCosts", "NvmlMeter", "RaplMeter", "RaplPermissionError",
        "ReplayMeter", "Scope", "WindowHandle", "calibrate", "detect", "energy_range",
        "load_calibration", "normalise", "probe_nvml", "rapl_status", "self_check", "window"}
    assert testing.FakeMeter is FakeMeter and testing.ReplayMeter is ReplayMeter


# --- estimator ----------------------------------------------------------------------------

def test_estimate_is_cpu_seconds_times_watts(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu_s = iter([10.0, 10.5])
    monkeypatch.setattr(time, "thread_time", lambda: next(cpu_s))
    meter = CpuTimeEstimator(watts_per_core=12.0)
    with window(meter) as measured:
        pass
    assert measured.energy_uj == pytest.approx(0.5 * 12.0 * 1e6)
    assert meter.kind == "estimated"
    assert meter.source == "cpu-time-estimate:thread@12W/core"


def burn_cpu(cpu_s: float, spent: list[float]) -> None:
    """Work until this thread has used ``cpu_s`` of CPU (however long the scheduler makes that take)."""
    start = time.thread_time()
    total = 0
    while time.thread_time() - start < cpu_s:
        total += sum(range(1000))
    spent.append(time.thread_time() - start)


def test_thread_scope_ignores_other_threads_and_process_scope_counts_them() -> None:
    thread_meter = CpuTimeEstimator(scope="thread")
    process_meter = CpuTimeEstimator(scope="process")
    spent: list[float] = []
    worker = threading.Thread(target=burn_cpu, args=(0.05, spent))
    with window(thread_meter) as own, window(process_meter) as whole:
        worker.start()
        worker.join()  # waiting costs this thread (almost) no CPU
    # The process meter saw at least the worker's own CPU time, whatever the machine's load.
    worker_uj = spent[0] * 15.0 * 1e6
    assert whole.energy_uj >= 0.99 * worker_uj
    assert own.energy_uj < 0.2 * whole.energy_uj


def test_estimator_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="watts_per_core"):
        CpuTimeEstimator(watts_per_core=0.0)
    with pytest.raises(ValueError, match="scope"):
        CpuTimeEstimator(scope="machine")  # type: ignore[arg-type]


# --- GPU through NVML ----------------------------------------------------------------------

def test_gpu_meter_is_absent_without_the_extra(no_pynvml: None) -> None:
    assert probe_nvml() is None
    with pytest.raises(EnergyError, match=r"harmone\[gpu\]"):
        NvmlMeter()


def test_gpu_meter_is_absent_without_a_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml({}, init_fails=True))
    assert probe_nvml() is None


def test_gpu_meter_converts_millijoules_and_skips_unsupported_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    counters = {0: 1_000, 1: 5, 2: 2_000}
    module = fake_pynvml(counters, unsupported=(1,))
    monkeypatch.setitem(sys.modules, "pynvml", module)
    meter = probe_nvml()
    assert meter is not None
    assert (meter.kind, meter.source, meter.resolution_uj) == ("measured", "nvml:gpu0+gpu2", 1000.0)
    with window(meter) as measured:
        counters[0] += 3  # mJ
        counters[2] += 4
    assert measured.energy_uj == 7_000.0
    meter.close()
    meter.close()
    assert module.calls == ["init", "shutdown"]  # type: ignore[attr-defined]
    with pytest.raises(EnergyError, match="closed"):
        meter.read_uj()


def test_asking_for_an_unsupported_gpu_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    module = fake_pynvml({0: 1, 1: 1}, unsupported=(1,))
    monkeypatch.setitem(sys.modules, "pynvml", module)
    with pytest.raises(EnergyError, match="GPU 1 cannot report"):
        NvmlMeter(device_indices=[1])
    assert module.calls == ["init", "shutdown"]  # type: ignore[attr-defined]


# --- composite and detection -------------------------------------------------------------

def test_composite_sums_parts_and_is_measured_only_when_all_parts_are() -> None:
    cpu, gpu = FakeMeter(kind="measured", source="cpu"), FakeMeter(kind="measured", source="gpu")
    both = CompositeMeter([cpu, gpu])
    assert (both.kind, both.source) == ("measured", "cpu+gpu")
    with window(both) as measured:
        cpu.advance(10.0)
        gpu.advance(32.0)
    assert measured.energy_uj == 42.0
    assert measured.measurement is not None and measured.measurement.kind == "measured"
    assert CompositeMeter([cpu, FakeMeter(kind="estimated")]).kind == "estimated"
    with pytest.raises(ValueError):
        CompositeMeter([])


def test_detect_adds_a_present_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml({0: 1}))
    with_estimate = detect(EnergyConfig(), sysfs_root=tmp_path / "none")
    assert isinstance(with_estimate, CompositeMeter)
    assert with_estimate.kind == "estimated"  # the CPU side is only an estimate
    assert with_estimate.source == "cpu-time-estimate:thread@15W/core+nvml:gpu0"
    with_rapl = detect(EnergyConfig(), sysfs_root=powercap_tree(tmp_path / "powercap"))
    assert with_rapl.kind == "measured"
    assert with_rapl.source == "rapl:package-0+nvml:gpu0"
    assert not isinstance(detect(EnergyConfig(), sysfs_root=tmp_path / "none", gpu=False), CompositeMeter)
    with_rapl.close()


def test_detect_honours_the_configured_meter(no_pynvml: None, tmp_path: Path) -> None:
    fake = detect(EnergyConfig(meter="fake"))
    assert isinstance(fake, FakeMeter) and fake.kind == "estimated" and fake.source == "fake"
    estimate = detect(EnergyConfig(meter="estimator", watts_per_core=7.5), scope="process",
                      sysfs_root=powercap_tree(tmp_path / "powercap"))
    assert isinstance(estimate, CpuTimeEstimator)
    assert (estimate.scope, estimate.watts_per_core) == ("process", 7.5)


# --- fakes -------------------------------------------------------------------------------

def test_fake_meter_moves_only_when_told() -> None:
    meter = FakeMeter()
    with window(meter) as idle:
        spin(0.002)
    assert idle.energy_uj == 0.0
    with window(meter) as told:
        meter.advance(250.0)
    assert told.energy_uj == 250.0
    with pytest.raises(ValueError, match="energy_uj"):
        meter.advance(-1.0)
    with pytest.raises(ValueError, match="kind"):
        FakeMeter(kind="guessed")  # type: ignore[arg-type]


def test_replay_meter_returns_recordings_in_order_then_stops() -> None:
    meter = ReplayMeter([100.0, 130.0, 190.0])
    with window(meter) as first:
        pass
    assert first.energy_uj == 30.0
    assert meter.read_uj() == 190.0
    assert meter.remaining == 0
    with pytest.raises(IndexError, match="no reading left"):
        meter.read_uj()


# --- self-check ------------------------------------------------------------------------

def test_self_check_reports_identity_cost_and_a_plausible_power() -> None:
    meter = CpuTimeEstimator(watts_per_core=15.0)
    report = self_check(meter, readings=200, busy_s=0.05)
    assert report["meter"] == "CpuTimeEstimator"
    assert (report["kind"], report["source"]) == ("estimated", meter.source)
    assert isinstance(report["read_cost_us"], float) and report["read_cost_us"] > 0
    assert isinstance(report["busy_duration_s"], float) and report["busy_duration_s"] >= 0.05
    # One busy thread cannot use more CPU time than wall time: at most 15 W.
    assert isinstance(report["busy_power_w"], float) and 0 < report["busy_power_w"] <= 15.0 * 1.01
    assert self_check(FakeMeter(), readings=100, busy_s=0.01)["busy_energy_uj"] == 0.0
