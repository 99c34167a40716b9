"""Energy per prediction from coarse counters: charge busy stretches, split per batch.

A RAPL counter steps about once a millisecond; one Ridge prediction takes ~10-20 µs.
Reading the counter around each prediction would give mostly zeros and the odd full
millisecond step. Instead the engine marks busy stretches (``resume`` / ``pause`` around
each step, so nothing between steps is charged: neither sleep nor other work), and every N
predictions of one model ``take`` the energy of all their busy stretches and split it
equally. A stretch of length d contains a counter step with probability d / T (T the
step period) and that step carries T worth of energy, so the expected reading is d times
the power around the stretch: the stretch's own energy when power is steady over a
counter period. Summed over many stretches the error averages out and shrinks as the
busy time grows; docs/energy.md discusses the conditions and their limits.

Used from one thread: the thread that does the work (a thread-scope estimator only sees
its own thread). Every ``pause``/``resume`` reads the meter, whatever its kind: the time
between steps may hold other work of the same thread (a progress display, the managing
loops of an in-process run), and none of it belongs to inference.
"""

from __future__ import annotations

from harmone.energy.base import EnergyMeter


class EnergyAttributor:
    """Energy accumulated over busy stretches since the last ``take``.

    Starts busy by default (``busy=True``), so a caller that never pauses gets all energy
    between takes with one reading per take; the inference engine starts it idle.
    """

    def __init__(self, meter: EnergyMeter, *, busy: bool = True) -> None:
        self.meter = meter
        self._read_uj = meter.read_uj
        self._busy = busy
        self._start_uj = self._read_uj() if busy else 0.0
        self._pending_uj = 0.0

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def pending_uj(self) -> float:
        """Energy of the finished busy stretches not yet taken (no meter reading)."""
        return self._pending_uj

    def resume(self) -> None:
        """A busy stretch begins; no effect while already busy."""
        if self._busy:
            return
        self._busy = True
        self._start_uj = self._read_uj()

    def pause(self) -> None:
        """Idle begins (e.g. before sleeping until the next stream value); no effect while idle."""
        if not self._busy:
            return
        self._busy = False
        delta_uj = self._read_uj() - self._start_uj
        if delta_uj > 0:
            self._pending_uj += delta_uj

    def take(self) -> float:
        """µJ of the busy stretches since the last take; resets, and keeps metering if busy."""
        if self._busy:
            now_uj = self._read_uj()
            delta_uj = now_uj - self._start_uj
            if delta_uj > 0:
                self._pending_uj += delta_uj
            self._start_uj = now_uj
        energy_uj, self._pending_uj = self._pending_uj, 0.0
        return energy_uj


class ServingEnergy:
    """The energy of serving steps, split into the model's own work and the overhead around it.

    The engine reads the meter where a region of a step starts, and closes the region with
    ``to_model`` (the prediction) or ``to_overhead`` (choosing the model, logging): each
    returns the reading it took, so consecutive regions share one reading and a plain step
    costs two, as an unsplit one did. Nothing between steps (the stream's wait, printing,
    the loops of an in-process run) is in any region. ``take`` hands over both sums for the
    rows of one batch, which split them equally (see the module docstring for why).
    """

    def __init__(self, meter: EnergyMeter) -> None:
        self.meter = meter
        self.read = meter.read_uj
        self._model_uj = 0.0
        self._overhead_uj = 0.0

    def to_model(self, since_uj: float) -> float:
        now_uj = self.read()
        if now_uj > since_uj:
            self._model_uj += now_uj - since_uj
        return now_uj

    def to_overhead(self, since_uj: float) -> float:
        now_uj = self.read()
        if now_uj > since_uj:
            self._overhead_uj += now_uj - since_uj
        return now_uj

    def take(self) -> tuple[float, float]:
        """(model µJ, overhead µJ) since the last take; resets both."""
        taken = self._model_uj, self._overhead_uj
        self._model_uj = self._overhead_uj = 0.0
        return taken
