"""RAPL meter against a fake powercap tree: the layout the kernel exposes, in a temp dir."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from harmone.config import EnergyConfig
from harmone.energy import (
    CpuTimeEstimator,
    RaplMeter,
    RaplPermissionError,
    detect,
    rapl_status,
    window,
)
from harmone.errors import EnergyError

RANGE_UJ = 262_143_328_850


def add_zone(root: Path, zone: str, name: str, energy_uj: int, *, range_uj: int = RANGE_UJ) -> Path:
    path = root / zone
    path.mkdir(parents=True)
    (path / "name").write_text(f"{name}\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{range_uj}\n")
    return path


def set_energy(zone: Path, energy_uj: int) -> None:
    # Rewritten in place, like the kernel's counter: the meter keeps the file open.
    with open(zone / "energy_uj", "w") as handle:
        handle.write(f"{energy_uj}\n")


@pytest.fixture
def powercap(tmp_path: Path) -> Path:
    root = tmp_path / "powercap"
    (root / "intel-rapl").mkdir(parents=True)  # the control-type directory, not a zone
    return root


def test_one_package_counts_what_the_counter_advances(powercap: Path) -> None:
    zone = add_zone(powercap, "intel-rapl:0", "package-0", 5_000_000)
    with RaplMeter(powercap) as meter:
        assert meter.kind == "measured"
        assert meter.source == "rapl:package-0"
        first = meter.read_uj()
        set_energy(zone, 5_000_750)
        assert meter.read_uj() - first == 750
        set_energy(zone, 5_001_000)
        assert meter.read_uj() - first == 1_000


def test_two_packages_are_summed_and_subzones_and_psys_skipped(powercap: Path) -> None:
    pkg0 = add_zone(powercap, "intel-rapl:0", "package-0", 1_000)
    pkg1 = add_zone(powercap, "intel-rapl:1", "package-1", 9_000)
    core = add_zone(powercap, "intel-rapl:0:0", "core", 500)
    psys = add_zone(powercap, "intel-rapl:2", "psys", 70_000)
    mmio = add_zone(powercap, "intel-rapl-mmio:0", "package-0", 3_000)
    with RaplMeter(powercap) as meter:
        assert meter.source == "rapl:package-0+package-1"
        start = meter.read_uj()
        set_energy(pkg0, 1_100)
        set_energy(pkg1, 9_300)
        for ignored in (core, psys, mmio):
            set_energy(ignored, 10**9)
        assert meter.read_uj() - start == 400


def test_wrap_around_is_corrected_with_max_energy_range(powercap: Path) -> None:
    zone = add_zone(powercap, "intel-rapl:0", "package-0", 999_000, range_uj=1_000_000)
    with RaplMeter(powercap) as meter:
        start = meter.read_uj()
        set_energy(zone, 500)  # 1 000 to the top, then 500 past zero
        assert meter.read_uj() - start == 1_500
        set_energy(zone, 2_500)
        assert meter.read_uj() - start == 3_500


def test_wrap_around_on_one_of_two_packages(powercap: Path) -> None:
    pkg0 = add_zone(powercap, "intel-rapl:0", "package-0", 10, range_uj=1_000)
    pkg1 = add_zone(powercap, "intel-rapl:1", "package-1", 990, range_uj=1_000)
    with RaplMeter(powercap) as meter:
        start = meter.read_uj()
        set_energy(pkg0, 30)
        set_energy(pkg1, 5)
        assert meter.read_uj() - start == 20 + 15


def test_window_measures_a_region(powercap: Path) -> None:
    zone = add_zone(powercap, "intel-rapl:0", "package-0", 42)
    with RaplMeter(powercap) as meter:
        with window(meter) as measured:
            set_energy(zone, 1_042)
        assert measured.energy_uj == 1_000
        assert measured.measurement is not None
        assert measured.measurement.kind == "measured"
        assert measured.measurement.source == "rapl:package-0"


@pytest.fixture
def unreadable(powercap: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """package-0's counter readable by root only, as the kernel ships it."""
    zone = add_zone(powercap, "intel-rapl:0", "package-0", 7)
    counter = zone / "energy_uj"
    counter.chmod(0o400)
    if os.geteuid() == 0:  # root reads anything: refuse this one file as the kernel would
        real_open = os.open

        def refusing_open(path: os.PathLike[str] | str, *args: object, **kwargs: object) -> int:
            if Path(path) == counter:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "open", refusing_open)
    else:
        counter.chmod(0)
    return counter


def test_unreadable_counter_names_the_file_and_the_fix(powercap: Path, unreadable: Path) -> None:
    with pytest.raises(RaplPermissionError) as caught:
        RaplMeter(powercap)
    message = str(caught.value)
    assert str(unreadable) in message
    assert f"sudo chmod a+r {powercap}/intel-rapl:*/energy_uj" in message
    assert "\n" not in message


def test_forcing_rapl_where_unreadable_is_an_error_with_the_fix(powercap: Path, unreadable: Path) -> None:
    with pytest.raises(EnergyError, match="chmod a"):
        detect(EnergyConfig(meter="rapl"), sysfs_root=powercap, gpu=False)


def test_auto_falls_back_to_the_estimate_and_says_why(powercap: Path, unreadable: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="harmone.energy"):
        meter = detect(EnergyConfig(meter="auto"), sysfs_root=powercap, gpu=False)
    assert isinstance(meter, CpuTimeEstimator)
    assert meter.kind == "estimated"
    assert "chmod" in caplog.text


def test_missing_tree_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-powercap"
    with pytest.raises(EnergyError, match="no powercap tree") as caught:
        RaplMeter(missing)
    assert str(missing) in str(caught.value)
    assert rapl_status(missing).startswith("unavailable:")


def test_tree_without_package_zones_is_a_clear_error(powercap: Path) -> None:
    add_zone(powercap, "intel-rapl:0", "psys", 1)
    with pytest.raises(EnergyError, match="no intel-rapl package zones"):
        RaplMeter(powercap)


def test_garbage_in_a_counter_names_the_file(powercap: Path) -> None:
    zone = add_zone(powercap, "intel-rapl:0", "package-0", 1)
    with RaplMeter(powercap) as meter:
        (zone / "energy_uj").write_text("not a number\n")
        with pytest.raises(EnergyError, match="energy_uj: expected a whole number"):
            meter.read_uj()


@pytest.mark.parametrize("packages", [1, 2])
def test_closed_meter_refuses_to_read_and_releases_its_files(powercap: Path, packages: int) -> None:
    for index in range(packages):
        add_zone(powercap, f"intel-rapl:{index}", f"package-{index}", 1)
    meter = RaplMeter(powercap)
    fds = list(meter._fds)
    meter.close()
    meter.close()  # idempotent
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)
    with pytest.raises(EnergyError, match="closed"):
        meter.read_uj()


def test_detect_prefers_readable_rapl_and_falls_back_without_it(powercap: Path, tmp_path: Path) -> None:
    add_zone(powercap, "intel-rapl:0", "package-0", 1)
    auto = detect(EnergyConfig(), sysfs_root=powercap, gpu=False)
    assert isinstance(auto, RaplMeter) and auto.kind == "measured"
    auto.close()
    assert rapl_status(powercap) == "readable: rapl:package-0"
    fallback = detect(EnergyConfig(), sysfs_root=tmp_path / "none", gpu=False)
    assert isinstance(fallback, CpuTimeEstimator)
    with pytest.raises(EnergyError, match="no powercap tree"):
        detect(EnergyConfig(meter="rapl"), sysfs_root=tmp_path / "none", gpu=False)
