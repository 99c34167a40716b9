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

import math

from harmone import detectors
from harmone.config import Config
from harmone.detectors import DriftDetector
from harmone.detectors.window_kl import finite, kl_divergence

__all__ = ["DriftDetector", "finite", "kl_divergence", "make_detector", "make_trigger"]


def make_detector(config: Config) -> DriftDetector:
    """A fresh detector as ``[drift] detector`` and its settings say (validated on load)."""
    name = config.drift.detector
    return detectors.make(name, config.detector_params(name))


def make_trigger(config: Config) -> DriftDetector | None:
    """The cheap detector that arms the drift check (``[drift] trigger``), None for "none".

    Any registered detector can trigger: an incremental one (Page-Hinkley, CUSUM) costs a
    few operations per value, while the windowed KL compares two 1 200-value histograms on
    every check; with a trigger the KL is computed only in the 2 x window values after it
    fires, and the loop checks ``drift.quiet_every`` times less often while it is quiet.
    """
    name = config.drift.trigger
    return None if name == "none" else detectors.make(name, config.detector_params(name))


def graded_wait(score: float | None, config: Config, every: int) -> int:
    """Periods until the next look, from the drift detector's last score: at most ``every``.

    ``ceil(every * (1 - score / limit))`` below limit = ``drift.quiet_below`` x the
    detector's threshold (``score_threshold``), 1 from the limit on, and 1 without a score or a threshold. The
    windowed KL rises gradually as a new regime fills the last window (on the built-in
    streams 300 or more values from 0.3 to the threshold 0.75), so a low score can wait
    long and a score approaching the limit is looked at ever more often.
    """
    name = config.drift.detector
    threshold = detectors.detector_class(name).score_threshold(config.detector_params(name))
    if score is None or threshold is None:
        return 1
    limit = config.drift.quiet_below * threshold[0]
    if score >= limit:
        return 1
    return max(1, min(every, math.ceil(every * (1.0 - score / limit))))
