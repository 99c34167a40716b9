"""Choosing a stored version to reuse: the one whose training data looks most like the drift data.

A version is judged by KL(drift data || its training sample), large when today's values
land where the version's training data had little mass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harmone.config import Config
from harmone.mape.detection import finite, kl_divergence

if TYPE_CHECKING:
    from harmone.mape.drift import TargetSnapshot


def version_divergences(drift_data: np.ndarray, samples: Mapping[Any, np.ndarray],
                        config: Config) -> dict[Any, float]:
    """KL(drift data || version training sample) per version, clipped to [0, kl_clip].

    A version whose sample holds no finite value cannot be compared and is left out.
    """
    drift = config.drift
    divergences: dict[int, float] = {}
    for version, sample in samples.items():
        if finite(sample).size == 0:
            continue
        kl = kl_divergence(drift_data, sample, bins=drift.bins, epsilon=drift.epsilon)
        divergences[version] = min(drift.kl_clip, kl)
    return divergences


def choose_version(drift_data: np.ndarray, samples: Mapping[int, np.ndarray],
                   config: Config) -> tuple[int, float] | None:
    """The stored version whose training data looks most like the drift data, and its KL.

    ``samples`` maps every stored version of the model to its training sample. With one
    version or none there is nothing to choose from: None. Equal KLs (for instance several
    clipped at kl_clip) go to the newest version.
    """
    if len(samples) <= 1:
        return None
    divergences = version_divergences(drift_data, samples, config)
    if not divergences:
        return None
    version = min(divergences, key=lambda v: (divergences[v], -v))
    return version, divergences[version]


def reuse_kinds(target: TargetSnapshot, answering: str, config: Config) -> Sequence[str]:
    """Kinds whose stored versions may answer a drift (``drift.reuse_scope = "all"``).

    The answering kind, the serving kind, and every trained kind whose calibrated
    normalised energy per prediction is within ``switch.energy_goal``; without a
    calibration nothing says a kind does not fit, so every trained kind.
    """
    energy, goal = target.normalised_energy, config.switch.energy_goal
    kinds = {answering, target.serving}
    kinds.update(kind for kind in target.trained
                 if kind in target.active_versions and (energy is None or energy.get(kind, goal + 1) <= goal))
    return sorted(kinds)


def choose_across(drift_data: np.ndarray, samples: Mapping[tuple[str, int], np.ndarray], answering: str,
                  config: Config) -> tuple[tuple[str, int], float, dict[tuple[str, int], float]] | None:
    """The stored (kind, version) whose training data looks most like the drift data, its KL, all KLs.

    As ``choose_version`` over versions of several kinds: None with one version or none;
    equal KLs (versions trained on the same data) go to the answering kind, then the newest
    version, then the kind's name.
    """
    if len(samples) <= 1:
        return None
    divergences = version_divergences(drift_data, samples, config)
    if not divergences:
        return None
    best = min(divergences, key=lambda key: (divergences[key], key[0] != answering, -key[1], key[0]))
    return best, divergences[best], divergences
