"""The approaches: which MAPE-K loops run, and whether one model is pinned.

The adaptive approaches are listed as data; the single-model ones are generated from the
model registry, one without loops and one with periodic retraining for every registered
kind (the published kinds first, in the published order), so a new model kind gets its
baselines without further edits. With the three published kinds these are the nine
published approaches. (The original started no loop at all for ``single-*+retrain``, so
those baselines silently never retrained; here they run the retrain loop like any other.)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from harmone.errors import ConfigError, ModelError
from harmone.knowledge.events import LOOP_NAMES, LoopName
from harmone.models import PUBLISHED_KINDS

LOOPS: frozenset[str] = frozenset(LOOP_NAMES)

#: Kinds with a published single-model baseline, in the order the approaches are listed.


@dataclass(frozen=True)
class Approach:
    name: str
    #: Loops the managing system starts: a subset of ``LOOP_NAMES``.
    loops: frozenset[str]
    #: The one model served throughout, or None when the switch loop picks.
    fixed_model: str | None
    description: str

    def __post_init__(self) -> None:
        unknown = self.loops - LOOPS
        if unknown:
            raise ValueError(f"approach {self.name!r}: unknown loops {sorted(unknown)}")
        if self.fixed_model is not None and "switch" in self.loops:
            raise ValueError(f"approach {self.name!r}: a fixed model cannot be switched")

    def runs(self, loop: str) -> bool:
        return loop in self.loops

    def check_models(self, trained: Collection[str]) -> None:
        """A pinned model must have a trained version before the approach can run."""
        if self.fixed_model is not None and self.fixed_model not in trained:
            have = ", ".join(sorted(trained)) or "none"
            raise ModelError(f"approach {self.name!r} needs a trained {self.fixed_model!r} model "
                             f"(trained: {have})")


_ADAPTIVE: tuple[tuple[str, frozenset[str], str], ...] = (
    ("harmone", frozenset({LoopName.SWITCH, LoopName.DRIFT}),
     "switch models on score or energy violations; on drift reuse a stored version or retrain"),
    ("switch", frozenset({LoopName.SWITCH}), "switch models on score or energy violations only"),
    ("switch+retrain", frozenset({LoopName.SWITCH, LoopName.RETRAIN}),
     "switch models on violations and retrain the current model periodically"),
)


#: The single-model baselines: name suffix, loops, description.
_SINGLE: tuple[tuple[str, frozenset[str], str], ...] = (
    ("", frozenset(), "serve only {kind}, no adaptation"),
    ("+retrain", frozenset({LoopName.RETRAIN}), "serve only {kind}, retrained periodically"),
)


def build_approaches(kinds: Iterable[str]) -> dict[str, Approach]:
    """The adaptive approaches, then ``single-<kind>`` and ``single-<kind>+retrain`` for each kind.

    The nine published approaches come first in the published order, then the baselines of
    any other kind by name.
    """
    available = set(kinds)
    ordered = [k for k in PUBLISHED_KINDS if k in available] + sorted(available - set(PUBLISHED_KINDS))
    approaches = {name: Approach(name, loops, None, text) for name, loops, text in _ADAPTIVE}
    published = [k for k in ordered if k in PUBLISHED_KINDS]
    for group in (published, [k for k in ordered if k not in PUBLISHED_KINDS]):
        for suffix, loops, text in _SINGLE:
            for kind in group:
                name = f"single-{kind}{suffix}"
                approaches[name] = Approach(name, loops, kind, text.format(kind=kind))
    return approaches


def _registered_kinds() -> list[str]:
    from harmone.models import kinds

    return kinds()


#: Every approach by name, in the published order.
APPROACHES: Mapping[str, Approach] = MappingProxyType(build_approaches(_registered_kinds()))

#: What ``all`` compares: the nine published approaches (the adaptive ones and the baselines of
#: the published kinds). Baselines of other kinds run when named; every report shows each
#: approach's skill over persistence anyway.
DEFAULT_APPROACHES: tuple[str, ...] = tuple(
    name for name, approach in APPROACHES.items()
    if approach.fixed_model is None or approach.fixed_model in PUBLISHED_KINDS)


def default_approaches(compared: Iterable[str]) -> tuple[str, ...]:
    """What ``all`` compares on a task: the adaptive approaches, then ``single-<kind>`` and
    ``single-<kind>+retrain`` for each of the task's compared kinds (``Task.compared_kinds``), in
    its order. On forecasting these are the nine published approaches."""
    kinds = list(compared)
    singles = [f"single-{kind}{suffix}" for suffix, _, _ in _SINGLE for kind in kinds]
    return (*(name for name, _, _ in _ADAPTIVE), *(name for name in singles if name in APPROACHES))


def approaches_of(kinds: Collection[str]) -> list[str]:
    """Every approach that can run on a task whose model kinds are ``kinds``, in listing order."""
    return [name for name, approach in APPROACHES.items() if approach.fixed_model is None or approach.fixed_model in kinds]


def get_approach(name: str) -> Approach:
    try:
        return APPROACHES[name]
    except KeyError:
        raise ConfigError(f"unknown approach {name!r} (valid: {', '.join(APPROACHES)})") from None
