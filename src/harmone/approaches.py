"""The nine approaches: which MAPE-K loops run, and whether one model is pinned.

The adaptive approaches are listed as data; the single-model ones are generated from the
published model kinds, one without loops and one with periodic retraining each. (The
original started no loop at all for ``single-*+retrain``, so those baselines silently never
retrained; here they run the retrain loop like any other.)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from harmone.errors import ConfigError, ModelError

Loop = Literal["switch", "drift", "retrain"]
LOOPS: frozenset[str] = frozenset({"switch", "drift", "retrain"})

#: Kinds with a published single-model baseline, in the order the approaches are listed.
SINGLE_MODEL_KINDS: tuple[str, ...] = ("lstm", "svm", "linear")


@dataclass(frozen=True)
class Approach:
    name: str
    #: Loops the managing system starts: a subset of {"switch", "drift", "retrain"}.
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

    def runs(self, loop: Loop) -> bool:
        return loop in self.loops

    def check_models(self, trained: Collection[str]) -> None:
        """A pinned model must have a trained version before the approach can run."""
        if self.fixed_model is not None and self.fixed_model not in trained:
            have = ", ".join(sorted(trained)) or "none"
            raise ModelError(f"approach {self.name!r} needs a trained {self.fixed_model!r} model "
                             f"(trained: {have})")


_ADAPTIVE: tuple[tuple[str, frozenset[str], str], ...] = (
    ("harmone", frozenset({"switch", "drift"}),
     "switch models on score or energy violations; on drift reuse a stored version or retrain"),
    ("switch", frozenset({"switch"}), "switch models on score or energy violations only"),
    ("switch+retrain", frozenset({"switch", "retrain"}),
     "switch models on violations and retrain the current model periodically"),
)


def _build() -> dict[str, Approach]:
    approaches = {name: Approach(name, loops, None, text) for name, loops, text in _ADAPTIVE}
    for suffix, loops, text in (("", frozenset(), "serve only {kind}, no adaptation"),
                                ("+retrain", frozenset({"retrain"}), "serve only {kind}, retrained periodically")):
        for kind in SINGLE_MODEL_KINDS:
            name = f"single-{kind}{suffix}"
            approaches[name] = Approach(name, loops, kind, text.format(kind=kind))
    return approaches


#: Every approach by name, in the published order.
APPROACHES: Mapping[str, Approach] = MappingProxyType(_build())


def get_approach(name: str) -> Approach:
    try:
        return APPROACHES[name]
    except KeyError:
        raise ConfigError(f"unknown approach {name!r} (valid: {', '.join(APPROACHES)})") from None
