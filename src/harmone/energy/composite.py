"""Several meters read as one, e.g. CPU (RAPL or estimate) plus GPU (NVML)."""

from __future__ import annotations

from collections.abc import Sequence

from harmone.energy.base import EnergyMeter, MeterKind


class CompositeMeter(EnergyMeter):
    """The sum of its parts; "measured" only when every part measures.

    One estimated part makes the whole sum an estimate, so the label never claims
    more than the weakest part can support.
    """

    def __init__(self, parts: Sequence[EnergyMeter]) -> None:
        if not parts:
            raise ValueError("a composite meter needs at least one part")
        self.parts = tuple(parts)
        kind: MeterKind = "measured" if all(p.kind == "measured" for p in self.parts) else "estimated"
        self.kind = kind
        self.source = "+".join(p.source for p in self.parts)
        self.resolution_uj = max(p.resolution_uj for p in self.parts)
        self.update_interval_s = max(p.update_interval_s for p in self.parts)
        self._reads = tuple(p.read_uj for p in self.parts)

    def read_uj(self) -> float:
        total_uj = 0.0
        for read in self._reads:
            total_uj += read()
        return total_uj

    def close(self) -> None:
        for part in self.parts:
            part.close()
