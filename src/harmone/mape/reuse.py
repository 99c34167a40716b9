"""Choosing a stored version to reuse: the one whose training data looks most like the drift data.

A version is judged by KL(drift data || its training sample), large when today's values
land where the version's training data had little mass.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from harmone.config import Config
from harmone.mape.detection import finite, kl_divergence


def version_divergences(drift_data: np.ndarray, samples: Mapping[int, np.ndarray],
                        config: Config) -> dict[int, float]:
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
