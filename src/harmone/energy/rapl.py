"""Measured CPU package energy from RAPL counters, read through Linux powercap sysfs.

Intel CPUs since Sandy Bridge, and AMD Zen CPUs on recent kernels, expose one zone per
package as ``<root>/intel-rapl:N`` with a cumulative ``energy_uj`` counter that wraps at
``max_energy_range_uj``. We sum the package zones (sub-zones such as core or dram are
inside a package, and ``psys`` overlaps it, so both are skipped).

A reading must cost far less than one cheap prediction (~20 µs), so each counter file is
opened once and re-read with ``os.pread`` instead of open/read/close per reading.
"""

from __future__ import annotations

import os
import re
import weakref
from dataclasses import dataclass
from pathlib import Path

from harmone.energy.base import EnergyMeter
from harmone.errors import EnergyError

DEFAULT_SYSFS_ROOT = Path("/sys/class/powercap")
#: The usual RAPL energy-status unit, 1/65 536 J (Intel client parts, AMD Zen); some Intel
#: server parts count in 61 µJ steps. sysfs shows whole µJ, but steps are this coarse.
RAPL_RESOLUTION_UJ = 15.3
#: The hardware refreshes the counters about once a millisecond.
RAPL_UPDATE_INTERVAL_S = 0.001

_ZONE_NAME = re.compile(r"intel-rapl:(\d+)")
_READ_BYTES = 32  # a µJ counter below 2**64 has at most 20 digits
_pread = os.pread


@dataclass(frozen=True)
class RaplZone:
    """One package zone of the powercap tree."""

    path: Path
    name: str
    max_energy_range_uj: int


def permission_fix(sysfs_root: Path) -> str:
    """The shell command that makes the counters readable until the next reboot."""
    return f"sudo chmod a+r {sysfs_root}/intel-rapl:*/energy_uj"


class RaplPermissionError(EnergyError):
    """RAPL is present but its counters are readable by root only (the kernel default)."""


def _unreadable(path: Path, exc: OSError, sysfs_root: Path) -> EnergyError:
    if isinstance(exc, PermissionError):
        return RaplPermissionError(
            f"cannot read {path} (permission denied): run `{permission_fix(sysfs_root)}` "
            f"(lost at reboot; docs/energy.md shows a lasting udev rule) or set energy.meter = \"estimator\"")
    return EnergyError(f"cannot read {path}: {exc.strerror or exc}")


def _read_int(path: Path, sysfs_root: Path) -> int:
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise _unreadable(path, exc, sysfs_root) from None
    try:
        return int(text)
    except ValueError:
        raise EnergyError(f"{path}: expected a whole number of µJ, found {text[:40]!r}") from None


def find_package_zones(sysfs_root: Path | str = DEFAULT_SYSFS_ROOT) -> list[RaplZone]:
    """The package zones under ``sysfs_root``, or an ``EnergyError`` saying why there are none."""
    root = Path(sysfs_root)
    if not root.is_dir():
        raise EnergyError(f"{root}: no powercap tree, so no RAPL here (a VM, a container without "
                          f"/sys, or a CPU or kernel without RAPL)")
    numbered: list[tuple[int, Path]] = []
    for entry in root.iterdir():
        match = _ZONE_NAME.fullmatch(entry.name)
        if match and entry.is_dir():
            numbered.append((int(match.group(1)), entry))
    zones = []
    for _, path in sorted(numbered):
        try:
            name = (path / "name").read_text(encoding="ascii").strip()
        except OSError as exc:
            raise _unreadable(path / "name", exc, root) from None
        if not name.startswith("package"):
            continue
        zones.append(RaplZone(path=path, name=name,
                              max_energy_range_uj=_read_int(path / "max_energy_range_uj", root)))
    if not zones:
        raise EnergyError(f"{root}: no intel-rapl package zones (RAPL is not exposed on this machine)")
    return zones


def _close_fds(fds: list[int]) -> None:
    while fds:
        os.close(fds.pop())


class RaplMeter(EnergyMeter):
    """Package energy summed over all CPU packages; measured, so ``kind`` is "measured".

    The counters cover the whole package: every thread and process running on it, plus
    its idle power. Wrap-around is corrected at each reading, so some thread must read at
    least once per wrap period (``max_energy_range_uj`` / package power: about 20-40
    minutes at 100-200 W).

    Safe to read from several threads without a lock (a lock would double the cost of a
    reading): each reading takes a snapshot of (base, last raw) per zone *before* reading
    the counter, so a raw value below the snapshot can only mean a wrap, and it stores a
    fresh snapshot in one assignment. A racing store at worst puts back an older
    snapshot, from which the next reading derives the same total.
    """

    kind = "measured"
    resolution_uj = RAPL_RESOLUTION_UJ
    update_interval_s = RAPL_UPDATE_INTERVAL_S

    def __init__(self, sysfs_root: Path | str = DEFAULT_SYSFS_ROOT) -> None:
        self.sysfs_root = Path(sysfs_root)
        self.zones_ = find_package_zones(self.sysfs_root)
        self.source = "rapl:" + "+".join(zone.name for zone in self.zones_)
        self._fds: list[int] = []
        self._finalizer = weakref.finalize(self, _close_fds, self._fds)
        self._paths = [zone.path / "energy_uj" for zone in self.zones_]
        for path in self._paths:
            try:
                self._fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
            except OSError as exc:
                self._finalizer()
                raise _unreadable(path, exc, self.sysfs_root) from None
        self._ranges_uj = tuple(zone.max_energy_range_uj for zone in self.zones_)
        self._single = len(self._fds) == 1
        self._fd0 = self._fds[0]
        self._range0_uj = self._ranges_uj[0]
        self._closed = False
        # Per zone (base_uj, last_raw_uj); total = sum of base + raw. Replaced, never mutated.
        self._state: tuple[tuple[float, int], ...] = ()
        try:
            self._state = tuple((0.0, self._read_raw(fd, i)) for i, fd in enumerate(self._fds))
        except EnergyError:
            self._finalizer()
            raise
        self._origin_uj = sum(base + raw for base, raw in self._state)

    def _read_error(self, index: int, exc: OSError | ValueError) -> EnergyError:
        if self._closed:
            return EnergyError(f"RAPL meter over {self.sysfs_root} is closed")
        if isinstance(exc, OSError):
            return _unreadable(self._paths[index], exc, self.sysfs_root)
        try:
            found = _pread(self._fds[index], _READ_BYTES, 0)
        except OSError:
            found = b"?"
        return EnergyError(f"{self._paths[index]}: expected a whole number of µJ, found {found[:40]!r}")

    def _read_raw(self, fd: int, index: int) -> int:
        try:
            return int(_pread(fd, _READ_BYTES, 0))
        except (OSError, ValueError) as exc:
            raise self._read_error(index, exc) from None

    def read_uj(self) -> float:
        """µJ since the meter was created."""
        if self._single:  # the common case, kept short: it runs twice per live prediction
            (base_uj, last_uj), = self._state  # snapshot before reading: see the class docstring
            try:
                raw_uj = int(_pread(self._fd0, _READ_BYTES, 0))
            except (OSError, ValueError) as exc:
                raise self._read_error(0, exc) from None
            if raw_uj < last_uj:  # the counter wrapped past max_energy_range_uj
                base_uj += self._range0_uj
            self._state = ((base_uj, raw_uj),)
            return base_uj + raw_uj - self._origin_uj
        if self._closed:
            raise EnergyError(f"RAPL meter over {self.sysfs_root} is closed")
        state = self._state
        fresh: list[tuple[float, int]] = []
        total_uj = -self._origin_uj
        try:
            for (base_uj, last_uj), fd, range_uj in zip(state, self._fds, self._ranges_uj):
                raw_uj = int(_pread(fd, _READ_BYTES, 0))
                if raw_uj < last_uj:
                    base_uj += range_uj
                fresh.append((base_uj, raw_uj))
                total_uj += base_uj + raw_uj
        except (OSError, ValueError) as exc:
            raise self._read_error(len(fresh), exc) from None
        self._state = tuple(fresh)
        return total_uj

    def close(self) -> None:
        self._closed = True
        self._fd0 = -1
        self._finalizer()
