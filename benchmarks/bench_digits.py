"""The built-in image stream: generation and file speed, and what its regimes do to models.

- speed: ``digits.generate`` at the default size (12 000 records, train ratio 0.1), once
  cold in a fresh process (importing scikit-learn and loading its digits included) and
  then warm, the median of five; writing both files (``write_labelled_split``) and reading
  them back (``read_labelled``), the median of five. A fresh process is what
  ``harmone data synth --profile digits`` is.
- accuracy: logistic regression, an RBF-kernel SVC and a small MLP (one hidden layer of
  64), scikit-learn defaults otherwise, fitted on the training pool of each seed and scored
  on every regime of that seed's default stream (the boundaries are the same for every
  seed); per regime the mean over seeds 0-2, and each regime kind averaged over its
  occurrences. These are reference models to show that the regimes change what a model
  achieves, not HarmonE's model zoo.
- ``contrast_as_filed``: the same models on the test pool with the inks faded, ``x * 0.4``
  rather than the ImageNet-C contrast ``(x - mean) * 0.4 + mean`` the stream uses; issue 20
  was filed with figures that match this variant.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from harmone.data import digits
from harmone.data.labelled import read_labelled, write_labelled_split

SEEDS = (0, 1, 2)
REPEATS = 5

_COLD = """
import time
started = time.perf_counter()
from harmone.data import digits
digits.generate(None, 0, 0.1)
print(time.perf_counter() - started)
"""


def _median_s(action: Any) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 4)


def _speed() -> dict[str, Any]:
    cold = float(subprocess.run([sys.executable, "-c", _COLD], check=True, capture_output=True, text=True).stdout)
    stream = digits.generate(None, 0, 0.1)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        write_s = _median_s(lambda: write_labelled_split(data_dir, stream.train, stream.test))
        train_path, test_path = write_labelled_split(data_dir, stream.train, stream.test)
        read_train_s = _median_s(lambda: read_labelled(train_path))
        read_test_s = _median_s(lambda: read_labelled(test_path))
        sizes = {"train_file_mb": round(train_path.stat().st_size / 1e6, 2),
                 "test_file_mb": round(test_path.stat().st_size / 1e6, 2)}
    return {"generate_default_cold_s": round(cold, 3), "generate_default_warm_s": _median_s(
        lambda: digits.generate(None, 0, 0.1)), "write_both_files_s": write_s,
        f"read_train_file_s ({len(stream.train)} x 65)": read_train_s,
        f"read_test_file_s ({len(stream.test)} x 65)": read_test_s, **sizes}


def _models() -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC

    return {"logistic": LogisticRegression(max_iter=5000), "rbf_svc": SVC(),
            "mlp_64": MLPClassifier((64,), max_iter=1000, random_state=0)}


def _accuracy() -> dict[str, Any]:
    per_regime: dict[str, dict[str, list[float]]] = {}
    by_kind: dict[str, dict[str, list[float]]] = {}
    faded: dict[str, list[float]] = {}
    for seed in SEEDS:
        train_pool, test_pool = digits.source_pools(seed)
        models = {name: model.fit(train_pool.X, train_pool.y) for name, model in _models().items()}
        stream = digits.generate(None, seed, 0.1)
        for regime in stream.regimes:
            part = stream.test.take(slice(regime.start, regime.end))
            key = f"{regime.start}-{regime.end} {regime.name}"
            for name, model in models.items():
                score = float(model.score(part.X, part.y))
                per_regime.setdefault(key, {}).setdefault(name, []).append(score)
                by_kind.setdefault(regime.name, {}).setdefault(name, []).append(score)
        for name, model in models.items():
            faded.setdefault(name, []).append(float(model.score(test_pool.X * 0.4, test_pool.y)))

    def mean(table: dict[str, list[float]]) -> dict[str, float]:
        return {name: round(statistics.fmean(scores), 3) for name, scores in table.items()}

    return {"per_regime": {key: mean(row) for key, row in per_regime.items()},
            "per_regime_kind": {kind: mean(row) for kind, row in by_kind.items()},
            "contrast_as_filed": mean(faded)}


def run() -> dict[str, Any]:
    np.seterr(all="ignore")
    return {"seeds": list(SEEDS), "speed": _speed(), "accuracy": _accuracy()}
