"""Parameter constraints: one declaration of what each setting may be, one validator for all.

In the manner of scikit-learn's ``_parameter_constraints``: a model kind and a drift detector
declare ``parameter_constraints``, a mapping from each setting to what its value may be, and
every field of a ``harmone.toml`` section carries one in its metadata. ``validate`` checks a
mapping of settings against such a declaration, so a model's ``[models.<kind>]`` table, a
``[detectors.<name>]`` table and a ``[switch]`` section are refused by the same rules and in
the same words. What a value may be:

- ``Interval(int | float, left, right, closed=...)``: a finite number (an ``int`` for
  ``int``; an ``int`` is accepted, as a float, where a ``float`` is declared) between bounds,
  each one optional and closed or open (``closed``: both, left, right or neither);
- ``Options(names)``: one of some strings;
- ``OfType(bool)`` or ``OfType(str)``: any value of that type;
- ``Names()``: a non-empty list of names (kept in order, repeats dropped);
- ``NumberTable()``: a table of finite numbers.

An error is one line naming the key and the value; the caller adds where (the file and the
section) and chooses the error type.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class ParamError(ValueError):
    """A setting that breaks its constraint; the message names the key and the value."""


class Constraint(Protocol):
    def check(self, key: str, value: Any) -> Any:
        """``value`` as it will be used, or ``ParamError`` naming ``key`` and ``value``."""


def _type_error(key: str, expected: type, value: Any) -> ParamError:
    return ParamError(f"{key} must be {expected.__name__}, got {value!r}")


@dataclass(frozen=True)
class OfType:
    """Any value of one type (``bool`` or ``str``); a bool is never taken for a number or the reverse."""

    type: type

    def check(self, key: str, value: Any) -> Any:
        if not isinstance(value, self.type) or (self.type is not bool and isinstance(value, bool)):
            raise _type_error(key, self.type, value)
        return value


@dataclass(frozen=True)
class Interval:
    """A finite number of ``type`` (``int`` or ``float``) within ``left`` .. ``right`` (None: unbounded)."""

    type: type
    left: float | None
    right: float | None
    closed: str = "both"

    def __post_init__(self) -> None:
        if self.type not in (int, float) or self.closed not in ("both", "left", "right", "neither"):
            raise TypeError(f"Interval({self.type!r}, closed={self.closed!r}) is not a number interval")

    def check(self, key: str, value: Any) -> Any:
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        value = OfType(self.type).check(key, value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ParamError(f"{key} = {value!r} must be finite")
        left_open, right_open = self.closed in ("right", "neither"), self.closed in ("left", "neither")
        if self.left is not None and (value < self.left or (left_open and value == self.left)):
            raise ParamError(f"{key} = {value!r} is out of range (must be {'>' if left_open else '>='} {self.left})")
        if self.right is not None and (value > self.right or (right_open and value == self.right)):
            raise ParamError(f"{key} = {value!r} is out of range (must be {'<' if right_open else '<='} {self.right})")
        return value


@dataclass(frozen=True)
class Options:
    """One of some strings."""

    options: tuple[str, ...]

    def check(self, key: str, value: Any) -> Any:
        value = OfType(str).check(key, value)
        if value not in self.options:
            raise ParamError(f"{key} = {value!r} is not one of {', '.join(self.options)}")
        return value


@dataclass(frozen=True)
class Names:
    """A non-empty list of names, as a tuple in order without repeats."""

    def check(self, key: str, value: Any) -> Any:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ParamError(f"{key} must be a non-empty list of names, got {value!r}")
        return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class NumberTable:
    """A table of finite numbers, as floats."""

    def check(self, key: str, value: Any) -> Any:
        if not isinstance(value, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()):
            raise ParamError(f"{key} must be a table of numbers, got {value!r}")
        for name, number in value.items():
            if not math.isfinite(number):
                raise ParamError(f"{key}.{name} = {number!r} must be finite")
        return {k: float(v) for k, v in value.items()}


def validate(constraints: Mapping[str, Constraint], params: Mapping[str, Any], *,
             error: Callable[[str], Exception] = ParamError) -> dict[str, Any]:
    """``params`` checked against ``constraints``, as they will be used; raises ``error(message)``.

    Every key of ``params`` must be declared (an unknown key is named with the known ones);
    a declared key that ``params`` leaves out is not checked (its default stands).
    """
    checked: dict[str, Any] = {}
    for key, value in params.items():
        if key not in constraints:
            raise error(f"unknown key {key!r} (known: {', '.join(constraints)})")
        try:
            checked[key] = constraints[key].check(key, value)
        except ParamError as exc:
            raise error(str(exc)) from None
    return checked
