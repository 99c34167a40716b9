"""The energy range that normalises energy per prediction for the switch score.

The score is ``s = beta * R² + (1 - beta) * (1 - e)`` with ``e = (E - E_m) / (E_M - E_m)``
clamped to [0, 1]. The published range (E_m = 0, E_M = 25 000 µJ) was fitted to a
prototype that reloaded the model from disk for every prediction; with models kept in
memory every kind lands near e = 0 and the energy term no longer tells models apart.

Calibration measures each model kind on this machine with this meter, the way it is served:
every measured prediction is a real serving step (choosing the model, predicting, logging
into a scratch knowledge base) preceded by an idle gap (``energy.calibration_gap_s``), so it
runs as cold as a live prediction after the stream's wait. Back to back, a prediction finds
its code and data in the caches and costs a fraction of a live one (docs/energy.md, "One
energy basis"). The model's own work and the overhead around it are kept apart, as while
serving, and the switch score compares the model's own work. It proposes:

- ``E_m = 0``: zero energy is a true zero, so e stays proportional to energy and a kind
  that costs half as much gets half the e. Pinning E_m to the cheapest kind would erase
  that ratio and push the cheapest kind's noise against the clamp.
- ``E_M = headroom * (most expensive kind)``, headroom 1.25 by default: the most
  expensive kind sits at e = 0.8 and the others below it in proportion, so the energy
  term spans most of its range across the zoo; the 25 % margin keeps measurement noise
  and moderate overruns (background load, a slower machine state) from saturating at 1,
  so an overrun still raises e instead of vanishing into the clamp.

While serving, the switch loop corrects the range by how live predictions compare with
their calibrated cost (``live_correction``), and records the factor it used.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from harmone import atomic
from harmone.config import EnergyConfig
from harmone.energy.base import EnergyMeter, MeterKind
from harmone.errors import ConfigError, EnergyError

#: E_M = DEFAULT_HEADROOM x the most expensive kind's energy per prediction.
DEFAULT_HEADROOM = 1.25
#: Predictions per kind run before measuring: first calls pay for loading and allocation.
DEFAULT_WARMUP = 20
#: Rounds the predictions are split into; each kind's figure is the median of its rounds,
#: so a burst of load from other processes during one round does not move it.
DEFAULT_ROUNDS = 5
#: Format 2 splits each kind's energy into the model's own work and the serving overhead;
#: format 1 (one figure per kind, measured back to back) still loads.
_FORMAT = 2
_FORMATS = (1, 2)


@dataclass(frozen=True)
class Calibration:
    """Energy per prediction of each model kind on one machine, and the range it implies."""

    #: The model's own work per prediction (what the switch score compares), µJ.
    energy_uj_per_prediction: dict[str, float]
    duration_s_per_prediction: dict[str, float]
    e_min_uj: float
    e_max_uj: float
    meter_kind: MeterKind
    meter_source: str
    predictions: int
    headroom: float
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    #: Serving overhead per prediction around the model's work (choosing it, logging), µJ;
    #: empty for a calibration of format 1.
    overhead_uj_per_prediction: dict[str, float] = field(default_factory=dict)
    #: Idle seconds before each measured prediction (0: back to back, as format 1 measured).
    gap_s: float = 0.0

    def __post_init__(self) -> None:
        # Own copies, so the caller's dicts cannot change a calibration after the fact.
        for table in ("energy_uj_per_prediction", "duration_s_per_prediction", "overhead_uj_per_prediction"):
            object.__setattr__(self, table, dict(getattr(self, table)))

    def normalised(self, kind: str) -> float:
        """The e this calibration gives to a kind's measured energy per prediction."""
        return normalise(self.energy_uj_per_prediction[kind], self.e_min_uj, self.e_max_uj)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "created_at": self.created_at,
            "meter_kind": self.meter_kind,
            "meter_source": self.meter_source,
            "predictions": self.predictions,
            "headroom": self.headroom,
            "e_min_uj": self.e_min_uj,
            "e_max_uj": self.e_max_uj,
            "gap_s": self.gap_s,
            "energy_uj_per_prediction": dict(self.energy_uj_per_prediction),
            "overhead_uj_per_prediction": dict(self.overhead_uj_per_prediction),
            "duration_s_per_prediction": dict(self.duration_s_per_prediction),
        }

    def save(self, path: Path | str) -> None:
        """Write as JSON, atomically: a reader sees the old calibration or the new one."""
        atomic.write_text(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")


class Server(Protocol):
    """One model kind served the way it is live; it meters its own steps."""

    def step(self) -> None:
        """Serve one prediction (choose the model, predict, log)."""

    def take(self) -> tuple[float, float]:
        """(model µJ, overhead µJ) of the steps since the last take."""


def calibrate(servers: Mapping[str, Server], meter: EnergyMeter, *, predictions: int = 200, gap_s: float = 0.0,
              warmup: int = DEFAULT_WARMUP, headroom: float = DEFAULT_HEADROOM, rounds: int = DEFAULT_ROUNDS,
              sleep: Callable[[float], None] = time.sleep) -> Calibration:
    """Measure energy per prediction of each kind as it is served.

    Kinds take turns one prediction at a time, each after ``gap_s`` idle seconds, so slow
    drifts in machine state (background load, clock frequency) spread over all kinds alike
    and every prediction starts as cold as a live one. The predictions are split into
    ``rounds``; a kind's figures are the medians of its rounds' means, so a burst of other
    work on the machine during one round does not move them. Run it in the thread that will
    serve predictions (a thread-scope estimator sees only its thread).
    """
    if not servers:
        raise ValueError("calibrate needs at least one model kind")
    if predictions < 1 or warmup < 0 or rounds < 1 or not (math.isfinite(gap_s) and gap_s >= 0):
        raise ValueError(f"need predictions >= 1, warmup >= 0, rounds >= 1, gap_s >= 0; got {predictions}, "
                         f"{warmup}, {rounds}, {gap_s}")
    if not (math.isfinite(headroom) and headroom >= 1):
        raise ValueError(f"headroom must be >= 1, got {headroom!r}")
    for server in servers.values():
        for _ in range(warmup):
            server.step()
        server.take()
    duration_s = dict.fromkeys(servers, 0.0)
    per_round: dict[str, list[tuple[float, float]]] = {kind: [] for kind in servers}
    for count in _split(predictions, min(rounds, predictions)):
        for _ in range(count):
            for kind, server in servers.items():
                if gap_s:
                    sleep(gap_s)
                start_s = time.perf_counter()
                server.step()
                duration_s[kind] += time.perf_counter() - start_s
        for kind, server in servers.items():
            model_uj, overhead_uj = server.take()
            per_round[kind].append((model_uj / count, overhead_uj / count))
    model_uj = {kind: statistics.median(m for m, _ in figures) for kind, figures in per_round.items()}
    highest_uj = max(model_uj.values())
    if not highest_uj > 0:
        raise EnergyError(f"meter {meter.source} counted no energy over {predictions} predictions "
                          f"per kind; calibration needs a meter that moves "
                          f"(or set energy.normalisation = \"published\")")
    return Calibration(
        energy_uj_per_prediction=model_uj,
        overhead_uj_per_prediction={kind: statistics.median(o for _, o in figures)
                                    for kind, figures in per_round.items()},
        duration_s_per_prediction={kind: d / predictions for kind, d in duration_s.items()},
        e_min_uj=0.0,
        e_max_uj=headroom * highest_uj,
        meter_kind=meter.kind,
        meter_source=meter.source,
        predictions=predictions,
        headroom=headroom,
        gap_s=gap_s,
    )


def _split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` counts that differ by at most one."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _number(path: Path, raw: Mapping[str, Any], key: str, *, lo: float = 0.0) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < lo:
        raise EnergyError(f"{path}: {key} must be a finite number >= {lo:g}, found {value!r}")
    return float(value)


def _per_kind(path: Path, raw: Mapping[str, Any], key: str) -> dict[str, float]:
    table = raw.get(key)
    if not isinstance(table, dict):
        raise EnergyError(f"{path}: {key} must be a table of model kind to number, found {table!r}")
    return {kind: _number(path, table, kind) for kind in table}


def load_calibration(path: Path | str) -> Calibration | None:
    """The calibration saved at ``path``; None when there is none; ``EnergyError`` when damaged."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EnergyError(f"{path}: cannot read the energy calibration ({exc.strerror or exc})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EnergyError(f"{path}: not valid JSON ({exc}); delete it and calibrate again") from None
    if not isinstance(raw, dict):
        raise EnergyError(f"{path}: expected a JSON object, found {type(raw).__name__}")
    if raw.get("format") not in _FORMATS:
        raise EnergyError(f"{path}: format {raw.get('format')!r} is not one of {_FORMATS}; calibrate again")
    kind = raw.get("meter_kind")
    if kind not in ("measured", "estimated"):
        raise EnergyError(f"{path}: meter_kind must be \"measured\" or \"estimated\", found {kind!r}")
    for key in ("meter_source", "created_at"):
        if not isinstance(raw.get(key), str):
            raise EnergyError(f"{path}: {key} must be a string, found {raw.get(key)!r}")
    predictions = raw.get("predictions")
    if isinstance(predictions, bool) or not isinstance(predictions, int) or predictions < 1:
        raise EnergyError(f"{path}: predictions must be a whole number >= 1, found {predictions!r}")
    e_min_uj = _number(path, raw, "e_min_uj")
    e_max_uj = _number(path, raw, "e_max_uj")
    if not e_max_uj > e_min_uj:
        raise EnergyError(f"{path}: e_max_uj = {e_max_uj:g} must exceed e_min_uj = {e_min_uj:g}")
    return Calibration(
        energy_uj_per_prediction=_per_kind(path, raw, "energy_uj_per_prediction"),
        duration_s_per_prediction=_per_kind(path, raw, "duration_s_per_prediction"),
        e_min_uj=e_min_uj,
        e_max_uj=e_max_uj,
        meter_kind=kind,
        meter_source=raw["meter_source"],
        predictions=predictions,
        headroom=_number(path, raw, "headroom", lo=1.0),
        created_at=raw["created_at"],
        overhead_uj_per_prediction=(_per_kind(path, raw, "overhead_uj_per_prediction")
                                    if "overhead_uj_per_prediction" in raw else {}),
        gap_s=_number(path, raw, "gap_s") if "gap_s" in raw else 0.0,
    )


def energy_range(config: EnergyConfig, calibration: Calibration | None) -> tuple[float, float]:
    """(E_m, E_M) in µJ: the published range when configured so or when uncalibrated."""
    if config.normalisation == "published" or calibration is None:
        return config.e_min_uj, config.e_max_uj
    return calibration.e_min_uj, calibration.e_max_uj


def normalise(energy_uj: float, e_min_uj: float, e_max_uj: float) -> float:
    """``(E - E_m) / (E_M - E_m)`` clamped to [0, 1]: the one energy normalisation of the project."""
    if not e_max_uj > e_min_uj:
        raise ConfigError(f"energy range: e_max_uj ({e_max_uj!r}) must exceed e_min_uj ({e_min_uj!r})")
    if not math.isfinite(energy_uj):
        raise EnergyError(f"energy per prediction must be finite, got {energy_uj!r} µJ")
    e = (energy_uj - e_min_uj) / (e_max_uj - e_min_uj)
    return 0.0 if e < 0.0 else 1.0 if e > 1.0 else e
