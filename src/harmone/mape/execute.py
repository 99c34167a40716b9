"""Execute: the only code besides the loops that changes anything.

Every action is atomic for the serving process:

- a model switch rewrites ``knowledge/model.csv`` in one rename (``Workspace.write_active_model``);
- version reuse re-points ``models/<kind>`` in one rename (``ModelRepository.promote``); the
  model and its own scaler live in the version directory, so they change together;
- retraining fits a new model with its own scaler on the given data (``training.train``),
  stores it as a complete new version with its training sample, then promotes it.

Retraining runs either in the calling thread (``InlineRetrainer``: simulated runs, where
simulated time stands still while it trains) or in a child process
(``SubprocessRetrainer``: live runs, so it never stalls inference or the other loops).
Both hand back a ``RetrainJob`` that is polled until it has a result.
"""

from __future__ import annotations

import contextlib

import json
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol


from harmone import atomic
from harmone import config as config_mod
from harmone.config import Config
from harmone.energy.base import EnergyMeter, window
from harmone.errors import AdaptationError, HarmonEError
from harmone.knowledge.events import Action
from harmone.mape.plan import SwitchPlan
from harmone.mape.state import RETRAIN_SCRATCH_PREFIX
from harmone.repository import ModelRepository, ServingModel
from harmone.workspace import Workspace

if TYPE_CHECKING:
    from harmone.training import TrainedModel

#: File in a retraining job's scratch directory holding the child's pid (read by recovery).
CHILD_PID_FILE = "pid"

#: Seconds a cancelled retraining child gets to exit after SIGTERM before it is killed.
CANCEL_GRACE_S = 5.0


class RetrainError(HarmonEError):
    """A retraining job failed; the message names the model and the cause."""


def apply_switch(workspace: Workspace, plan: SwitchPlan) -> str:
    """Make the plan's target the model that serves (no effect for ``none``); the model serving now."""
    if plan.action is Action.SWITCH:
        if plan.target is None:
            raise AdaptationError("a switch plan needs a target model")
        workspace.write_active_model(plan.target)
        return plan.target
    return plan.source


def apply_reuse(repository: ModelRepository, kind: str, version: int) -> int:
    """Serve a stored version again (model and scaler travel together in its directory); that version."""
    repository.promote(kind, version)
    return version


@dataclass(frozen=True)
class RetrainRequest:
    kind: str
    #: Training data as the kind's task holds it (the drift data, or the latest records).
    data: Any
    #: ``drift`` or ``periodic``; stored in the version's meta.json.
    reason: str
    seed: int
    #: The settings of the manager that asks (it may have taken up a changed harmone.toml
    #: since it started); None: the retrainer's own.
    config: Config | None = None


@dataclass(frozen=True)
class RetrainResult:
    kind: str
    version: int
    #: Energy of fitting and storing the version, µJ, as measured where it ran.
    energy_uj: float
    meter_kind: str | None
    meter_source: str | None
    train_time_s: float
    holdout_r2: float
    n_values: int
    #: False when validation kept the serving version (the new one is stored all the same).
    promoted: bool = True
    #: The serving version's R² on the same held-out values, when validation compared them.
    serving_holdout_r2: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": self.version, "energy_uj": self.energy_uj,
                "meter_kind": self.meter_kind, "meter_source": self.meter_source,
                "train_time_s": self.train_time_s, "holdout_r2": self.holdout_r2, "n_values": self.n_values,
                "promoted": self.promoted, "serving_holdout_r2": self.serving_holdout_r2}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RetrainResult:
        return cls(kind=str(raw["kind"]), version=int(raw["version"]), energy_uj=float(raw["energy_uj"]),
                   meter_kind=raw.get("meter_kind"), meter_source=raw.get("meter_source"),
                   train_time_s=float(raw["train_time_s"]), holdout_r2=float(raw["holdout_r2"]),
                   n_values=int(raw["n_values"]), promoted=bool(raw.get("promoted", True)),
                   serving_holdout_r2=(None if raw.get("serving_holdout_r2") is None
                                       else float(raw["serving_holdout_r2"])))


def retrain_version(workspace: Workspace, request: RetrainRequest, config: Config, *,
                    meter: EnergyMeter | None = None, promote: bool = True) -> RetrainResult:
    """Fit ``request.kind`` on its data with the retraining parameters, store it, promote it.

    The new version's meta.json records the reason, and the energy of the fit when a meter
    is given. Promotion comes last: until then the serving process keeps the old version.
    With validation on (``drift.validate`` / ``retrain.validate`` by the request's reason)
    the new version is promoted only when it predicts the held-out newest values no worse
    than the serving version; either way it is stored, for later reuse.

    ``promote=False`` (the retraining child) stores the version only: ``promoted`` in the
    result is then the verdict, and the manager that reads it promotes.
    """
    from harmone import tasks
    from harmone.training import train, warm_start_from

    repository = ModelRepository(workspace)
    with contextlib.ExitStack() as stack:
        measured = stack.enter_context(window(meter)) if meter is not None else None
        trained = train(request.kind, request.data, config, retrain=True, seed=request.seed,
                        initial=warm_start_from(repository, request.kind, config))
        validate = config.drift.validate if request.reason == "drift" else config.retrain.validate
        serving = repository.active_version(request.kind)
        promoted, serving_r2 = True, None
        if validate and serving is not None:
            promoted, serving_r2 = _beats_serving(trained, repository.load(request.kind, serving), request, config)
    energy_uj = measured.energy_uj if measured is not None else 0.0
    extra: dict[str, Any] = {"seed": request.seed, "promoted": promoted}
    if meter is not None:
        extra["train_energy_uj"] = energy_uj
        extra["meter"] = meter.describe()
    version = repository.add_version(trained, reason=request.reason, extra_meta=extra)
    if promoted and promote:
        finish_promotion(workspace, config, request.kind, version)
    return RetrainResult(kind=request.kind, version=version, energy_uj=energy_uj,
                         meter_kind=meter.kind if meter else None, meter_source=meter.source if meter else None,
                         train_time_s=trained.train_time_s, holdout_r2=float(trained.metrics["holdout_score"]),
                         n_values=tasks.of_kind(request.kind).size(trained.snapshot), promoted=promoted, serving_holdout_r2=serving_r2)


def finish_promotion(workspace: Workspace, config: Config, kind: str, version: int) -> None:
    """Serve the new version, then prune old versions of its kind (``repository.keep_versions``)."""
    repository = ModelRepository(workspace)
    repository.promote(kind, version)
    repository.prune(kind, config.repository.keep_versions)


def _beats_serving(trained: TrainedModel, serving: ServingModel, request: RetrainRequest,
                   config: Config) -> tuple[bool, float]:
    """Does the new fit predict the held-out newest values no worse than the serving version?

    Returns the verdict of ``evaluation.promote`` and the serving version's R² there.
    """
    from harmone.mape.evaluation import baseline, evaluate, promote

    fresh = evaluate(ServingModel(trained.kind, 0, trained.model, trained.scaler), request.data, config)
    current = evaluate(serving, request.data, config)
    return promote(fresh, current, baseline(request.data, config)), current.score


class RetrainJob(Protocol):
    request: RetrainRequest
    #: True when the job's energy was spent outside this process (so no meter here saw it).
    external: bool

    def poll(self) -> RetrainResult | None:
        """The result once done, None while running; ``RetrainError`` when it failed."""
        ...

    def cancel(self) -> None:
        """Stop a running job; nothing is promoted afterwards."""
        ...


class Retrainer(Protocol):
    def submit(self, request: RetrainRequest) -> RetrainJob: ...


class FinishedJob:
    """A retraining done by the time ``submit`` returns: its result, or the error it failed with.

    What a retrainer that trains inline returns (``InlineRetrainer``, and the model meter's
    ``harmone.energy.model.ModelledRetrainer``); its energy was spent in this process.
    """

    external = False

    def __init__(self, request: RetrainRequest, result: RetrainResult | None, error: RetrainError | None) -> None:
        self.request = request
        self._result = result
        self._error = error

    def poll(self) -> RetrainResult | None:
        if self._error is not None:
            raise self._error
        return self._result

    def cancel(self) -> None:
        pass


class InlineRetrainer:
    """Retrains in the calling thread; the job is finished when ``submit`` returns."""

    def __init__(self, workspace: Workspace, config: Config, meter: EnergyMeter | None = None) -> None:
        self.workspace = workspace
        self.config = config
        self.meter = meter

    def submit(self, request: RetrainRequest) -> RetrainJob:
        try:
            result = retrain_version(self.workspace, request, request.config or self.config, meter=self.meter)
        except HarmonEError as exc:
            return FinishedJob(request, None, RetrainError(f"retraining {request.kind} failed: {exc}"))
        return FinishedJob(request, result, None)


class SubprocessRetrainer:
    """Retrains in ``harmone.mape.retrain_job``, run by a child of this interpreter.

    No shell is involved, the child is the same interpreter (``sys.executable``), its exit
    code is checked, and it measures its own energy at process scope. It runs isolated
    (``-I``: no current directory, user site or ``PYTHONPATH`` on its import path; only the
    directory this ``harmone`` package was loaded from), so a ``harmone/`` folder where the
    manager was started cannot run inside it. It runs in its own session, so a Ctrl-C
    meant for the manager does not kill a half-done training (the manager cancels it), and
    it exits on its own when the manager dies. It stores its version unpromoted; the
    manager promotes when it reads the result (``mape.recovery`` finishes the job after a
    killed manager).
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def submit(self, request: RetrainRequest) -> RetrainJob:
        return _ChildJob(self.workspace, request)


def child_command() -> list[str]:
    """The isolated interpreter command that runs ``retrain_job.main`` from this very package
    (``harmone.child``: the same one the dashboard's runs use)."""
    from harmone.child import command

    return command("harmone.mape.retrain_job:main")


class _ChildJob:
    external = True

    def __init__(self, workspace: Workspace, request: RetrainRequest) -> None:
        self.request = request
        workspace.knowledge_dir.mkdir(parents=True, exist_ok=True)
        self._scratch = Path(tempfile.mkdtemp(prefix=RETRAIN_SCRATCH_PREFIX, dir=workspace.knowledge_dir))
        data_path = self._scratch / "data.json"
        self._result_path = self._scratch / "result.json"
        self._stderr_path = self._scratch / "stderr.txt"
        from harmone import tasks

        atomic.write_text(data_path, json.dumps(tasks.of_kind(request.kind).to_json(request.data)))
        self._config = request.config or workspace.config
        # The manager's settings, not whatever harmone.toml holds now (``harmone.config_reload``).
        config_path = self._scratch / config_mod.CONFIG_FILE
        atomic.write_text(config_path, config_mod.render(self._config))
        command = [*child_command(), "--parent-pid", str(os.getpid()),
                   "--workspace", str(workspace.root.resolve()), "--kind", request.kind,
                   "--reason", request.reason, "--seed", str(request.seed),
                   "--data", str(data_path), "--result", str(self._result_path), "--config", str(config_path)]
        try:
            with open(self._stderr_path, "wb") as stderr:
                self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                    start_new_session=True)
        except OSError as exc:
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise RetrainError(f"cannot start retraining of {request.kind} ({exc})") from None
        self._workspace = workspace
        atomic.write_text(self._scratch / CHILD_PID_FILE, f"{self._process.pid}\n")

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def poll(self) -> RetrainResult | None:
        if self._process is None:
            raise RetrainError(f"retraining of {self.request.kind} was cancelled")
        code = self._process.poll()
        if code is None:
            return None
        self._process = None
        try:
            if code != 0:
                raise RetrainError(f"retraining {self.request.kind} failed (exit code {code}): {self._last_error()}")
            try:
                result = RetrainResult.from_dict(json.loads(self._result_path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise RetrainError(f"{self._result_path}: retraining {self.request.kind} left no "
                                   f"readable result ({exc})") from None
            if result.promoted:
                finish_promotion(self._workspace, self._config, result.kind, result.version)
            return result
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def cancel(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(CANCEL_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _last_error(self) -> str:
        try:
            lines = [line.strip() for line in self._stderr_path.read_text(encoding="utf-8", errors="replace")
                     .splitlines() if line.strip()]
        except OSError:
            lines = []
        return lines[-1] if lines else "no error output"
