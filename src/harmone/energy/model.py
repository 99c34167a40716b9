"""The model meter: energy from a fixed table of costs, so a seed decides everything.

A measured meter (RAPL, the CPU-time estimate) gives a slightly different number every run,
and the switch loop reads those numbers to decide: with it, the same seed can take other
decisions on another run or machine. The model meter instead charges, per activity, the
cost an ``EnergyModel`` states:

- each prediction: its kind's energy per prediction (from a calibration);
- each loop run (switch, drift, retrain): one fixed cost per loop, plus a cost per row the
  run read from the knowledge base (a switch run that waited longer reads more rows);
- each retraining: its kind's cost of one retraining, from scratch or warm-started
  (``retrain.warm_start``: fine-tuning the serving LSTM, or keeping a validated strength).

The numbers are *modelled, not measured*: the meter says so (kind "estimated", source
``model:<name>``) and every report names it. The meter is the ``ModelledCosts`` that a
session hands its engine and loops (``Session.start_engine``/``start_manager`` with
``costs=``): they tell it of each prediction and run inside the windows they meter;
``ModelledRetrainer`` charges retrainings. The packaged reference model
(``reference_model.json``) was built on one machine by ``measure_energy_model``; every
machine that uses it charges exactly the same, which is what makes matrices comparable.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harmone.energy.base import EnergyMeter
from harmone.errors import EnergyError
from harmone.knowledge.events import LOOP_NAMES

#: The energy model shipped with the package, used by ``--meter model`` unless a file is given.
REFERENCE_MODEL = Path(__file__).with_name("reference_model.json")
_FORMAT = 1


@dataclass(frozen=True)
class EnergyModel:
    """Costs in µJ: per prediction and per retraining by model kind, per run and per row read by loop."""

    name: str
    prediction_uj: Mapping[str, float]
    retraining_uj: Mapping[str, float]
    loop_run_uj: Mapping[str, float]
    #: Where the numbers come from (machine, meter, how derived): shown in reports.
    provenance: str = ""
    #: A warm-started retraining by kind; a kind missing here costs its from-scratch
    #: retraining times ``training.warm_share`` (an estimate).
    warm_retraining_uj: Mapping[str, float] = dataclasses.field(default_factory=dict)
    #: Per row a loop run reads, by loop; a loop missing here costs its flat run cost only.
    loop_row_uj: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for table in ("prediction_uj", "retraining_uj", "loop_run_uj", "warm_retraining_uj", "loop_row_uj"):
            object.__setattr__(self, table, dict(getattr(self, table)))
        missing = [loop for loop in LOOP_NAMES if loop not in self.loop_run_uj]
        if missing:
            raise EnergyError(f"energy model {self.name!r}: no loop_run_uj for {', '.join(missing)}")

    def prediction(self, kind: str) -> float:
        return _lookup(self.name, "prediction_uj", self.prediction_uj, kind)

    def retraining(self, kind: str) -> float:
        return _lookup(self.name, "retraining_uj", self.retraining_uj, kind)

    def retraining_cost(self, kind: str, config: Any, *, warm: bool) -> float:
        """One retraining of ``kind``: warm-started (from a serving version) or from scratch."""
        if not warm:
            return self.retraining(kind)
        if kind in self.warm_retraining_uj:
            return self.warm_retraining_uj[kind]
        from harmone.training import warm_share

        return self.retraining(kind) * warm_share(config, kind, True)

    def loop_run(self, loop: str, rows: int = 0) -> float:
        """One run of ``loop`` that read ``rows`` rows."""
        return _lookup(self.name, "loop_run_uj", self.loop_run_uj, loop) + self.loop_row_uj.get(loop, 0.0) * rows

    def calibration(self, headroom: float = 1.25, kinds: Collection[str] | None = None) -> Any:
        """A ``Calibration`` with this model's per-prediction energies (the switch score's range).

        ``kinds``: the kinds a workspace serves; the range spans only theirs, so a model of
        another task's kinds (a classifier beside a series) does not stretch it.
        """
        from harmone.energy.calibrate import Calibration

        energies = {kind: uj for kind, uj in self.prediction_uj.items() if kinds is None or kind in kinds}
        if not energies:
            raise EnergyError(f"energy model {self.name!r}: no energy per prediction for {', '.join(sorted(kinds or ()))}")
        return Calibration(energy_uj_per_prediction=energies,
                           duration_s_per_prediction=dict.fromkeys(energies, 0.0),
                           e_min_uj=0.0, e_max_uj=headroom * max(energies.values()),
                           meter_kind="estimated", meter_source=f"model:{self.name}", predictions=1,
                           headroom=headroom, created_at="modelled")

    def to_dict(self) -> dict[str, Any]:
        return {"format": _FORMAT, "name": self.name, "provenance": self.provenance,
                "prediction_uj": dict(self.prediction_uj), "retraining_uj": dict(self.retraining_uj),
                "loop_run_uj": dict(self.loop_run_uj), "warm_retraining_uj": dict(self.warm_retraining_uj),
                "loop_row_uj": dict(self.loop_row_uj)}

    def save(self, path: Path | str) -> None:
        from harmone import atomic

        atomic.write_text(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")


def calibrated_energy_model(calibration: Any, base: EnergyModel | None = None) -> EnergyModel:
    """``base`` (the packaged reference) charging each prediction its kind's cost in ``calibration``.

    A replay of a workspace with it charges predictions what that workspace's calibration
    measured, as the switch score reads them, and loop runs and retrainings the reference's
    costs: the replay beside which a live run of the same workspace is judged.
    """
    base = base or load_energy_model()
    return dataclasses.replace(
        base, name=f"calibration+{base.name}", prediction_uj=dict(calibration.energy_uj_per_prediction),
        provenance=(f"predictions: the workspace's calibration ({calibration.meter_kind}, {calibration.meter_source},"
                    f" {calibration.created_at}); loop runs and retrainings: {base.name}"))


def _lookup(name: str, table_name: str, table: Mapping[str, float], key: str) -> float:
    try:
        return table[key]
    except KeyError:
        raise EnergyError(f"energy model {name!r}: {table_name} has no entry for {key!r} "
                          f"(has: {', '.join(sorted(table))})") from None


def _table(path: Path, raw: Mapping[str, Any], key: str, *, may_be_empty: bool = False) -> dict[str, float]:
    table = raw.get(key)
    if not isinstance(table, dict) or not (table or may_be_empty):
        raise EnergyError(f"{path}: {key} must be a non-empty table of name to µJ, found {table!r}")
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise EnergyError(f"{path}: {key}.{name} must be a finite number >= 0, found {value!r}")
    return {name: float(value) for name, value in table.items()}


def load_energy_model(path: Path | str | None = None) -> EnergyModel:
    """The energy model at ``path`` (default: the packaged reference); one-line errors when bad."""
    path = Path(path) if path is not None else REFERENCE_MODEL
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EnergyError(f"{path}: no such energy model file") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise EnergyError(f"{path}: cannot read the energy model ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
        raise EnergyError(f"{path}: not an energy model of format {_FORMAT}")
    return EnergyModel(name=str(raw.get("name") or path.stem), prediction_uj=_table(path, raw, "prediction_uj"),
                       retraining_uj=_table(path, raw, "retraining_uj"), loop_run_uj=_table(path, raw, "loop_run_uj"),
                       provenance=str(raw.get("provenance", "")),
                       warm_retraining_uj=_optional_table(path, raw, "warm_retraining_uj"),
                       loop_row_uj=_optional_table(path, raw, "loop_row_uj"))


def _optional_table(path: Path, raw: Mapping[str, Any], key: str) -> dict[str, float]:
    """A table added after format 1 was first written: absent in older files."""
    return _table(path, raw, key, may_be_empty=True) if key in raw else {}


class ModelMeter(EnergyMeter):
    """A counter that moves only by the charges of an ``EnergyModel``; labelled estimated."""

    kind = "estimated"
    resolution_uj = 0.0

    def __init__(self, model: EnergyModel) -> None:
        self.model = model
        self.source = f"model:{model.name}"
        self._total_uj = 0.0
        self._lock = threading.Lock()

    def charge(self, energy_uj: float) -> None:
        with self._lock:
            self._total_uj += energy_uj

    # -- ``harmone.energy.base.ModelledCosts``: the engine and the loops call these inside the
    # windows they meter, so the charges land where a measured meter's energy would.

    def charge_prediction(self, kind: str) -> None:
        """One prediction of ``kind``: its modelled energy per prediction."""
        self.charge(self.model.prediction(kind))

    def charge_run(self, loop: str, rows_read: int) -> None:
        """One run of ``loop``: its flat cost plus its cost per row read."""
        self.charge(self.model.loop_run(loop, rows_read))

    def read_uj(self) -> float:
        return self._total_uj

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "modelled": True, "provenance": self.model.provenance}


def retraining_cost(workspace: Any, kind: str, config: Any, model: EnergyModel) -> float:
    """What the next retraining of ``kind`` costs: warm-started when a serving version allows it."""
    from harmone.repository import ModelRepository
    from harmone.training import can_warm_start

    warm = can_warm_start(config, kind) and ModelRepository(workspace).active_version(kind) is not None
    return model.retraining_cost(kind, config, warm=warm)


class ModelledRetrainer:
    """Retrains inline (simulated time) and charges the kind's modelled retraining cost."""

    def __init__(self, workspace: Any, config: Any, meter: ModelMeter) -> None:
        self.workspace = workspace
        self.config = config
        self.meter = meter

    def submit(self, request: Any) -> Any:
        from harmone.errors import HarmonEError
        from harmone.mape.execute import FinishedJob, RetrainError, retrain_version

        cost_uj = retraining_cost(self.workspace, request.kind, self.config, self.meter.model)
        self.meter.charge(cost_uj)
        try:
            result = retrain_version(self.workspace, request, self.config)
        except HarmonEError as exc:
            return FinishedJob(request, None, RetrainError(f"retraining {request.kind} failed: {exc}"))
        result = dataclasses.replace(result, energy_uj=cost_uj, meter_kind=self.meter.kind,
                                     meter_source=self.meter.source)
        return FinishedJob(request, result, None)
