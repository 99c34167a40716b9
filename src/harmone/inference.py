"""The managed system: stream the test data through the active model and log every prediction.

Models stay in memory; the engine reloads only when `knowledge/model.csv` names another kind
or `models/<kind>` points at another version, and it checks both before every prediction
(a stat and a readlink, about two microseconds). Predictions are logged in batches; a batch
never mixes models, and its measured energy is split equally among its predictions (see
docs/energy.md for why per-prediction counter readings would be mostly noise).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harmone.clock import Clock
from harmone.config import Config
from harmone.data.series import read_series
from harmone.energy.attribution import EnergyAttributor
from harmone.energy.base import EnergyMeter
from harmone.errors import HarmonEError, ModelError
from harmone.knowledge import KnowledgeStore, PredictionRow, keys
from harmone.models import kinds
from harmone.repository import ModelRepository, ServingModel
from harmone.workspace import Workspace

log = logging.getLogger(__name__)

#: Knowledge-state key holding the index of the next test value to predict.
POSITION_KEY = keys.STREAM_POSITION


@dataclass(frozen=True)
class Prediction:
    position: int
    time_s: float
    true_value: float
    predicted_value: float
    model: str
    version: int
    latency_s: float


class InferenceEngine:
    """Predicts the stream one step at a time with whichever model is active.

    Energy is metered only while `step` runs (two meter readings per step): whatever
    happens between steps (sleeping for the stream cadence, printing, the managing loops
    of an in-process run) is never charged to inference.
    """

    def __init__(self, workspace: Workspace, *, store: KnowledgeStore, meter: EnergyMeter, clock: Clock,
                 config: Config | None = None, fixed_model: str | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        self.workspace = workspace
        self.config = config or workspace.config
        self.store = store
        self.clock = clock
        self.repository = ModelRepository(workspace)
        self._warn = warn or log.warning
        self._attributor = EnergyAttributor(meter, busy=False)
        self._stream = read_series(workspace.test_path)
        self._window = self.config.stream.input_length
        if len(self._stream) <= self._window:
            raise HarmonEError(f"{workspace.test_path}: {len(self._stream)} values, need more than {self._window}")
        self.position = max(self._window, int(store.get_state(POSITION_KEY, self._window)))
        self._serving: ServingModel | None = None
        self._active_model = workspace.follow_active_model()
        self._bad_names: set[str] = set()
        self._buffer: list[PredictionRow] = []
        self._known_kinds = set(kinds())
        #: Serve this kind whatever `model.csv` says (calibration and benchmarks).
        self._fixed_model = fixed_model

    # -- public ----------------------------------------------------------------------------

    @property
    def remaining(self) -> int:
        return len(self._stream) - self.position

    @property
    def serving(self) -> ServingModel | None:
        return self._serving

    def restart(self) -> None:
        """Go back to the start of the test stream."""
        self.flush()
        self.position = self._window
        self.store.set_state({POSITION_KEY: self.position})

    def step(self) -> Prediction | None:
        """Predict the next value; None when the stream is exhausted."""
        if self.position >= len(self._stream):
            return None
        self._attributor.resume()
        try:
            serving = self._current_model()
            i = self.position
            width = max(self._window, serving.context_length or 0)
            window = self._stream[max(0, i - width):i].tolist()
            started = time.perf_counter()
            predicted = serving.predict_next(window)
            latency_s = time.perf_counter() - started
            true_value = float(self._stream[i])
            now = self.clock.now()
            self._buffer.append((now, true_value, predicted, serving.kind, serving.version, latency_s, 0.0))
            self.position = i + 1
            if len(self._buffer) >= self.config.stream.flush_rows:
                self.flush()
        finally:
            self._attributor.pause()
        return Prediction(i, now, true_value, predicted, serving.kind, serving.version, latency_s)

    def idle(self, seconds: float) -> None:
        """Wait on the clock; waiting is not charged to inference."""
        self.clock.sleep(seconds)

    def flush(self) -> None:
        """Write buffered predictions with their share of the measured energy."""
        energy_uj = self._attributor.take()
        rows, self._buffer = self._buffer, []
        if not rows:
            return
        share = energy_uj / len(rows)
        try:
            self.store.append_predictions([row[:6] + (share,) for row in rows])
        except BaseException:
            # Not written (the batch is one transaction): keep the rows for the next flush,
            # so an interrupt (Ctrl-C) in the middle of a write loses nothing.
            self._buffer = rows + self._buffer
            raise
        self.store.set_state({POSITION_KEY: self.position})

    def run(self, steps: int | None = None, *, interval_s: float = 0.0,
            on_prediction: Callable[[Prediction], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> int:
        """Predict up to `steps` values (all when None), idling `interval_s` between them.

        `on_prediction` runs after each prediction; it is not charged to inference.
        """
        done = 0
        try:
            while steps is None or done < steps:
                if should_stop is not None and should_stop():
                    break
                prediction = self.step()
                if prediction is None:
                    break
                done += 1
                wait = interval_s > 0 and (steps is None or done < steps)
                if on_prediction is not None:
                    on_prediction(prediction)
                if wait:
                    self.clock.sleep(interval_s)
        finally:
            self.flush()
        return done

    # -- model selection -------------------------------------------------------------------

    def _current_model(self) -> ServingModel:
        kind = self._fixed_model or self._active_model.read() or self.config.stream.default_model
        serving = self._serving
        if kind not in self._known_kinds:
            return self._keep_serving(f"{self.workspace.model_switch_path}: unknown model {kind!r}"
                                      f" (known: {', '.join(sorted(self._known_kinds))})", kind)
        version = self.repository.active_version(kind)
        if version is None:
            return self._keep_serving(f"{self.workspace.model_switch_path}: model {kind!r} has no trained version", kind)
        if serving is None or serving.kind != kind or serving.version != version:
            try:
                loaded = self.repository.load(kind, version)
            except ModelError as exc:
                return self._keep_serving(str(exc), f"{kind}:{version}")
            self._switch_to(loaded)
        assert self._serving is not None
        return self._serving

    def _switch_to(self, serving: ServingModel) -> None:
        # A batch never mixes models: its energy belongs to one of them.
        self.flush()
        self._serving = serving

    def _keep_serving(self, problem: str, key: str) -> ServingModel:
        if key not in self._bad_names:
            self._bad_names.add(key)
            if self._serving is not None:
                self._warn(f"{problem}; still serving {self._serving.kind} version {self._serving.version}")
        if self._serving is None:
            fallback = self.config.stream.default_model
            version = self.repository.active_version(fallback)
            if version is None:
                raise ModelError(f"{problem}, and the default model {fallback!r} is not trained (run `harmone train`)")
            self._warn(f"{problem}; serving the default model {fallback!r}")
            self._switch_to(self.repository.load(fallback, version))
        assert self._serving is not None
        return self._serving


def summarise(predictions: list[Prediction] | None = None, *, true_values: np.ndarray | None = None,
              predicted_values: np.ndarray | None = None) -> dict[str, float]:
    """R² and MAE of a run, for printing."""
    from harmone.metrics import r2_score

    if predictions is not None:
        true_values = np.array([p.true_value for p in predictions])
        predicted_values = np.array([p.predicted_value for p in predictions])
    assert true_values is not None and predicted_values is not None
    if not len(true_values):
        return {"n": 0}
    return {"n": int(len(true_values)), "r2": r2_score(true_values, predicted_values),
            "mae": float(np.mean(np.abs(true_values - predicted_values)))}
