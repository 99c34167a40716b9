"""The approaches: which policy plans, which MAPE-K loops run, and whether one model is pinned.

Every approach is a policy (``harmone.policies``): each registered policy runs as the approach
of its name with the loops it names (the published ``harmone``, ``switch`` and
``switch+retrain``, the ``bandit``, and any policy a plugin package installs). The
single-model ones are generated from the model registry with the ``fixed`` policy, one
without loops and one with periodic retraining for every registered kind (the published
kinds first, in the published order), so a new model kind gets its baselines without
further edits. With the three published kinds these are the nine published approaches.
(The original started no loop at all for ``single-*+retrain``, so those baselines silently
never retrained; here they run the retrain loop like any other.)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from harmone.errors import ConfigError, ModelError
from harmone.knowledge.events import LOOP_NAMES, LoopName
from harmone.models import PUBLISHED_KINDS
from harmone.policies import FIXED, PUBLISHED as PUBLISHED_POLICIES

LOOPS: frozenset[str] = frozenset(LOOP_NAMES)

@dataclass(frozen=True)
class Approach:
    name: str
    #: Loops the managing system starts: a subset of ``LOOP_NAMES``.
    loops: frozenset[str]
    #: The one model served throughout, or None when the switch loop picks.
    fixed_model: str | None
    description: str
    #: The policy that plans the switch loop's runs (``fixed`` for the single-model baselines).
    policy: str = "harmone"

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


#: The single-model baselines: name suffix, loops, description.
_SINGLE: tuple[tuple[str, frozenset[str], str], ...] = (
    ("", frozenset(), "serve only {kind}, no adaptation"),
    ("+retrain", frozenset({LoopName.RETRAIN}), "serve only {kind}, retrained periodically"),
)


def build_approaches(kinds: Iterable[str], policies: Iterable[str] | None = None) -> dict[str, Approach]:
    """The adaptive approaches, then ``single-<kind>`` and ``single-<kind>+retrain`` for each kind.

    The nine published approaches come first in the published order, then the other policies
    (``bandit``, any a plugin installs) by name, then the baselines of any other kind by name.
    ``policies`` defaults to every registered one.
    """
    available = set(kinds)
    ordered = [k for k in PUBLISHED_KINDS if k in available] + sorted(available - set(PUBLISHED_KINDS))
    adaptive = _adaptive(policies)
    approaches = {name: adaptive[name] for name in PUBLISHED_POLICIES if name in adaptive}
    published = [k for k in ordered if k in PUBLISHED_KINDS]
    for group in (published, [k for k in ordered if k not in PUBLISHED_KINDS]):
        for suffix, loops, text in _SINGLE:
            for kind in group:
                name = f"single-{kind}{suffix}"
                approaches[name] = Approach(name, loops, kind, text.format(kind=kind), policy=FIXED)
        if group is published:  # then every other policy, by name: selectable, not in ``all``
            approaches.update({name: adaptive[name] for name in sorted(adaptive) if name not in approaches})
    return approaches


def _adaptive(policies: Iterable[str] | None) -> dict[str, Approach]:
    """One approach per registered policy (but ``fixed``, which makes the baselines)."""
    from harmone import policies as registry

    names = registry.names() if policies is None else list(policies)
    approaches = {}
    for name in names:
        if name == FIXED:
            continue
        cls = registry.policy_class(name)
        approaches[name] = Approach(name, frozenset(cls.loops), None, cls.description, policy=name)
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
    if approach.policy in PUBLISHED_POLICIES or approach.fixed_model in PUBLISHED_KINDS)


def default_approaches(compared: Iterable[str]) -> tuple[str, ...]:
    """What ``all`` compares on a task: the adaptive approaches, then ``single-<kind>`` and
    ``single-<kind>+retrain`` for each of the task's compared kinds (``Task.compared_kinds``), in
    its order. On forecasting these are the nine published approaches."""
    kinds = list(compared)
    singles = [f"single-{kind}{suffix}" for suffix, _, _ in _SINGLE for kind in kinds]
    return (*PUBLISHED_POLICIES, *(name for name in singles if name in APPROACHES))


def approaches_of(kinds: Collection[str]) -> list[str]:
    """Every approach that can run on a task whose model kinds are ``kinds``, in listing order."""
    return [name for name, approach in APPROACHES.items() if approach.fixed_model is None or approach.fixed_model in kinds]


def get_approach(name: str) -> Approach:
    try:
        return APPROACHES[name]
    except KeyError:
        raise ConfigError(f"unknown approach {name!r} (valid: {', '.join(APPROACHES)})") from None
