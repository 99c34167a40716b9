"""The drift detector the drift loop feeds, built from config in this one place.

Detectors live in ``harmone.detectors`` (one module each, River's shape: ``update(value)``
returns the detector, then read ``ready``, ``drift_detected`` and ``score``). The loop asks
for the one ``[drift] detector`` names, with its settings (``Config.detector_params``), and
feeds it every new value through ``feed``, so a detection inside a batch is never lost.

KL directions (docs/algorithm.md says why): the published detector is KL(window before ||
last window), so drift fires once the last window is mostly the new regime; a version is
judged by KL(drift data || its training sample) (``harmone.mape.reuse``). Natural
logarithm: nats. Both use the one KL of ``harmone.detectors.window_kl``.
"""

from __future__ import annotations

from harmone import detectors
from harmone.config import Config
from harmone.detectors import DriftDetector
from harmone.detectors.window_kl import finite, kl_divergence

__all__ = ["DriftDetector", "finite", "kl_divergence", "make_detector"]


def make_detector(config: Config) -> DriftDetector:
    """A fresh detector as ``[drift] detector`` and its settings say (validated on load)."""
    name = config.drift.detector
    return detectors.make(name, config.detector_params(name))
