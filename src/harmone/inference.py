"""The managed system: predict the stream one record at a time with the active model, and log it.

Models stay in memory; the engine reloads only when `knowledge/model.csv` names another kind
or `models/<kind>` points at another version. Checking both costs a stat and a readlink, and
right after the stream's wait (caches cold) that is several times a linear prediction, so
the engine checks before the first prediction of every stored batch and then once per
``[stream] model_check_s`` of clock time (1 s by default): a switch or promotion written by
another process is served within that. An in-process run flushes before its loops run, so
their decisions take effect at the very next prediction.

Predictions are logged in batches, together with the stream position in one transaction; a
batch never mixes models. Its measured energy is kept in two parts: the model's own work
(the prediction) and the serving overhead around it (choosing the model, logging), each
split equally among the batch's predictions (see docs/energy.md for why per-prediction
counter readings would be mostly noise). The switch loop compares models on the first part.

A meter that models costs instead of measuring them is told of each prediction through the
optional ``costs`` (``harmone.energy.base.ModelledCosts``), inside the prediction's region.

Labels may arrive late (``[stream] label_delay``, in records): a prediction is logged with
its true value once the record that reveals it has been predicted; until then the
knowledge base keeps it pending, so the loops judge only what has been labelled.

The stream is the task's (``harmone.tasks``): the engine asks it what a model reads to
predict a record and what the record's true value is, and logs both as floats.

The engine is handed everything it uses (stream, repository, store, meter, clock);
``InferenceEngine.for_workspace`` gathers them for one workspace. Driving it (how many
steps, waiting, stopping) is the session's job (``harmone.session``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import NamedTuple

from harmone.clock import Clock
from harmone.config import Config
from harmone.energy.attribution import ServingEnergy
from harmone.energy.base import EnergyMeter, ModelledCosts
from harmone.errors import HarmonEError, ModelError
from harmone.knowledge import KnowledgeStore, keys
from harmone.models import kinds
from harmone.repository import ModelRepository, ServingModel
from harmone.tasks import Stream
from harmone.workspace import ActiveModelFollower, Workspace

log = logging.getLogger(__name__)

#: Knowledge-state key holding the index of the next test value to predict.
POSITION_KEY = keys.STREAM_POSITION


class Prediction(NamedTuple):
    """One prediction (a tuple: made on every step, so it must cost next to nothing)."""

    position: int
    time_s: float
    true_value: float
    predicted_value: float
    model: str
    version: int
    latency_s: float


def _stored_position(store: KnowledgeStore, default: int) -> int:
    """The stored stream position; anything but a whole number >= 0 is a damaged knowledge base."""
    value = store.get_state(POSITION_KEY, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HarmonEError(f"{store.path}: knowledge state {POSITION_KEY!r} holds {value!r}, not a stream"
                           f" position (run `harmone infer --from-start` after `harmone reset`)")
    return value


class InferenceEngine:
    """Predicts the stream one step at a time with whichever model is active.

    Energy is metered only while `step` runs (two meter readings per step, one more when
    it checks the model): whatever happens between steps (sleeping for the stream cadence,
    printing, the managing loops of an in-process run) is never charged to inference.
    """

    def __init__(self, *, stream: Stream, repository: ModelRepository, active_model: ActiveModelFollower,
                 store: KnowledgeStore, meter: EnergyMeter, clock: Clock, config: Config,
                 fixed_model: str | None = None, warn: Callable[[str], None] | None = None,
                 source: str = "the test stream", costs: ModelledCosts | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.repository = repository
        self._warn = warn or log.warning
        self._energy = ServingEnergy(meter)
        #: Told of every prediction, inside its model-energy region (a meter that models costs).
        self._costs = costs
        self._stream = stream
        # Bound once: the per-prediction step calls them on every record.
        self._input_at, self._target = stream.input_at, stream.target
        self._length = len(stream)
        self._window = config.stream.input_length
        #: Past values the serving version reads: its own context (the input length for older versions).
        self._width = self._window
        self._flush_rows = config.stream.flush_rows
        self._label_delay = config.stream.label_delay
        self._first = stream.first
        if self._length <= self._first:
            raise HarmonEError(f"{source}: {self._length} records, need more than {self._first}")
        self.position = max(self._first, _stored_position(store, self._first))
        self._serving: ServingModel | None = None
        self._active_model = active_model
        self._bad_names: set[str] = set()
        self._buffer: list[Prediction] = []
        self._known_kinds = set(kinds())
        #: Serve this kind whatever `model.csv` says (calibration and benchmarks).
        self._fixed_model = fixed_model
        self._check_every_s = config.stream.model_check_s
        self._next_check_s = 0.0

    @classmethod
    def for_workspace(cls, workspace: Workspace, *, store: KnowledgeStore, meter: EnergyMeter, clock: Clock,
                      config: Config | None = None, repository: ModelRepository | None = None,
                      fixed_model: str | None = None, warn: Callable[[str], None] | None = None,
                      costs: ModelledCosts | None = None) -> InferenceEngine:
        """An engine over the workspace's test stream and models."""
        config = config or workspace.config
        return cls(stream=config.task.read_stream(workspace.test_path, config),
                   repository=repository or ModelRepository(workspace),
                   active_model=workspace.follow_active_model(), store=store, meter=meter, clock=clock,
                   config=config, fixed_model=fixed_model, warn=warn,
                   source=str(workspace.test_path), costs=costs)

    # -- public ----------------------------------------------------------------------------

    @property
    def remaining(self) -> int:
        return self._length - self.position

    @property
    def serving(self) -> ServingModel | None:
        return self._serving

    def reload_config(self, config: Config) -> None:
        """Changed settings (``harmone.config_reload``): flush size, default model and model-check period
        from the next step."""
        self.config, self._flush_rows, self._next_check_s = config, config.stream.flush_rows, 0.0
        self._check_every_s = config.stream.model_check_s

    def restart(self) -> None:
        """Go back to the start of the test stream."""
        self.flush()
        self.position = self._first
        self.store.set_state({POSITION_KEY: self.position})
        if self._label_delay:
            self.store.log_with_labels([], [], labels_before=self._length + self._label_delay,
                                       label_of=self._stream.target, state={})

    def step(self) -> Prediction | None:
        """Predict the next value; None when the stream is exhausted."""
        i = self.position
        if i >= self._length:
            return None
        energy = self._energy
        since_uj = energy.read()
        now_s = self.clock.now()
        serving = self._serving
        if serving is None or not self._buffer or now_s >= self._next_check_s:
            serving = self._current_model(now_s)
            since_uj = energy.to_overhead(since_uj)
        if self._costs is not None:
            self._costs.charge_prediction(serving.kind)
        started = time.perf_counter()
        predicted = serving.predict_next(self._input_at(i, self._width))
        latency_s = time.perf_counter() - started
        since_uj = energy.to_model(since_uj)
        prediction = Prediction(i, now_s, self._target(i), predicted, serving.kind, serving.version, latency_s)
        buffer = self._buffer
        buffer.append(prediction)
        self.position = i + 1
        if len(buffer) >= self._flush_rows:
            try:
                self.flush()
            finally:
                energy.to_overhead(since_uj)  # logging is overhead, charged to the next batch
        return prediction

    def idle(self, seconds: float) -> None:
        """Wait on the clock; waiting is not charged to inference."""
        self.clock.sleep(seconds)

    def flush(self) -> None:
        """Write buffered predictions, their shares of the measured energy and the position."""
        model_uj, overhead_uj = self._energy.take()
        rows, self._buffer = self._buffer, []
        if not rows:
            return
        model_share = model_uj / len(rows)
        share = model_share + overhead_uj / len(rows)
        try:
            if not self._label_delay:
                self.store.append_predictions_and_state(
                    [(p[1], p[2], p[3], p[4], p[5], p[6], share, model_share, p[0]) for p in rows],
                    {POSITION_KEY: self.position})
            else:
                self._log_with_labels(rows, share, model_share)
        except BaseException:
            # Not written (rows and position are one transaction): keep the rows for the next
            # flush, so an interrupt in the middle of a write loses nothing.
            self._buffer = rows + self._buffer
            raise

    def _log_with_labels(self, rows: list[Prediction], share: float, model_share: float) -> None:
        """Log what is labelled by now (record ``position - label_delay`` and before); keep the rest pending.

        At the end of the stream every label has arrived (nothing more will be predicted).
        """
        labels_before = self.position - self._label_delay if self.position < self._length else self._length
        labelled = [(p[1], p[2], p[3], p[4], p[5], p[6], share, model_share, p[0]) for p in rows
                    if p[0] < labels_before]
        pending = [(p[0], p[1], p[3], p[4], p[5], p[6], share, model_share) for p in rows if p[0] >= labels_before]
        self.store.log_with_labels(labelled, pending, labels_before=labels_before, label_of=self._stream.target,
                                   state={POSITION_KEY: self.position})

    # -- model selection -------------------------------------------------------------------

    def _current_model(self, now_s: float) -> ServingModel:
        serving = self._serving
        self._next_check_s = now_s + self._check_every_s
        kind = self._fixed_model or self._active_model.read() or self.config.stream.default_model
        if kind not in self._known_kinds:
            return self._keep_serving(f"{self._active_model.path}: unknown model {kind!r}"
                                      f" (known: {', '.join(sorted(self._known_kinds))})", kind)
        version = self.repository.active_version(kind)
        if serving is not None and version == serving.version and kind == serving.kind:
            return serving
        if version is None:
            return self._keep_serving(f"{self._active_model.path}: model {kind!r} has no trained version", kind)
        try:
            loaded = self.repository.load(kind, version)
        except ModelError as exc:
            return self._keep_serving(str(exc), f"{kind}:{version}")
        self._switch_to(loaded)
        return loaded

    def _switch_to(self, serving: ServingModel) -> None:
        # A batch never mixes models: its energy belongs to one of them.
        self.flush()
        self._serving = serving
        self._width = serving.context_length or self._window

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
            if key in (fallback, f"{fallback}:{version}"):  # the default is what failed: one error, no warning
                raise ModelError(problem)
            try:
                loaded = self.repository.load(fallback, version)
            except ModelError as exc:
                raise ModelError(f"{problem}, and the default model {fallback!r} cannot serve either ({exc})") from None
            self._warn(f"{problem}; serving the default model {fallback!r}")
            self._switch_to(loaded)
        assert self._serving is not None
        return self._serving
