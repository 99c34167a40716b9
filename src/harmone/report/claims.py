"""The published claims, checked on a comparison's numbers.

A claim about R² cannot hold when an R² it compares is missing ("n/a").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harmone.report.numbers import decimals, fmt, mj
from harmone.report.results import RunResult, by_name, checked

#: Claim 2: HarmonE spends at most this share of single-lstm+retrain's energy per prediction.
CLAIM_ENERGY_RATIO_MAX = 0.5
#: Claim 3: HarmonE keeps at least this share of single-lstm+retrain's R².
CLAIM_R2_RATIO_MIN = 0.95


@dataclass(frozen=True)
class Claim:
    """A published claim checked on this run's numbers."""

    name: str
    holds: bool
    detail: str


def claims(results: Sequence[RunResult]) -> list[Claim]:
    """The paper's claims, each checked only when the approaches it compares were run."""
    named = by_name(checked(results))
    harmone = named.get("harmone")
    if harmone is None:
        return []
    found: list[Claim] = []
    switch = named.get("switch")
    if switch is not None:
        found.append(_beats_switch(harmone, switch))
    reference = named.get("single-lstm+retrain")
    if reference is not None:
        found += _against_lstm_retrain(harmone, reference)
    return found


def _beats_switch(harmone: RunResult, switch: RunResult) -> Claim:
    h_energy, s_energy = harmone.energy_mj_per_prediction, switch.energy_mj_per_prediction
    r2_better = harmone.r2 is not None and switch.r2 is not None and harmone.r2 > switch.r2
    d = decimals([h_energy, s_energy])
    return Claim(
        "harmone beats switch on both R² and energy per prediction", r2_better and h_energy < s_energy,
        f"R² {fmt(harmone.r2, '.4f')} vs {fmt(switch.r2, '.4f')}; {h_energy:.{d}f} vs {s_energy:.{d}f} mJ/prediction, "
        f"of which adaptation {harmone.adaptation_energy_mj_per_prediction:.{d}f} (retraining "
        f"{harmone.retraining_energy_mj_per_prediction:.{d}f}) vs {switch.adaptation_energy_mj_per_prediction:.{d}f}")


def _against_lstm_retrain(harmone: RunResult, reference: RunResult) -> list[Claim]:
    h_energy, r_energy = harmone.energy_mj_per_prediction, reference.energy_mj_per_prediction
    ratio = f"{h_energy / r_energy:.3f}" if r_energy > 0 else "undefined"
    h_r2, r_r2 = harmone.r2, reference.r2
    r2_ratio = f"{h_r2 / r_r2:.4f}" if h_r2 is not None and r_r2 is not None and r_r2 > 0 else "undefined"
    return [
        Claim(f"harmone's energy per prediction is at most {CLAIM_ENERGY_RATIO_MAX:g} x single-lstm+retrain's",
              h_energy <= CLAIM_ENERGY_RATIO_MAX * r_energy,
              f"{mj(h_energy)} vs {mj(r_energy)} mJ/prediction, ratio {ratio}"),
        Claim(f"harmone's R² is at least {CLAIM_R2_RATIO_MIN:g} x single-lstm+retrain's",
              h_r2 is not None and r_r2 is not None and h_r2 >= CLAIM_R2_RATIO_MIN * r_r2,
              f"R² {fmt(h_r2, '.4f')} vs {fmt(r_r2, '.4f')}, ratio {r2_ratio}"),
    ]
