"""The built-in image stream: handwritten digits whose inputs degrade in changing ways.

The images are scikit-learn's bundled 8x8 digits (1 797 images of 10 classes, shipped
inside the package, so no download), pixels scaled to [0, 1] and flattened row by row
into the features ``x0``..``x63``. A stream record is an image drawn with replacement.
The 1 797 images are first split into a training pool (60 %, stratified by class) and a
test pool; the training split draws only from the first, the test stream only from the
second, so no model is ever judged on an image it was trained on.

The training split is clean. The test stream runs through regimes of corruption in the
manner of the ImageNet-C benchmark (Hendrycks and Dietterich, 2019): Gaussian noise,
blur, contrast, rotation and occlusion, returning to clean images between them, and noise
recurs, so that a model version stored for it can pay again. Regimes are shares of the
test stream, so any length keeps the schedule; docs/data.md lists them with the
accuracy each model kind reaches in each.

Each corruption is a pure function of a batch of images, a severity and a random
generator, its result clipped to [0, 1]. The generator is seeded: the same seed, length
and train ratio give the same arrays, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harmone.data.labelled import LabelledData
from harmone.data.series import train_size
from harmone.data.synth import Regime
from harmone.errors import DataError

#: Side of the square images, in pixels.
SIDE = 8
FEATURE_NAMES = tuple(f"x{i}" for i in range(SIDE * SIDE))
CLASS_NAMES = tuple(str(digit) for digit in range(10))
#: 12 000 records; with the default train ratio 0.1, a test stream of 10 800.
DEFAULT_RECORDS = 12_000
#: Longest stream made: 200 000 records are 100 MB of float64 features.
MAX_RECORDS = 200_000
#: Share of the source images in the training pool (the rest are the test pool's).
TRAIN_POOL_SHARE = 0.6
#: Every regime holds at least this many records, so its accuracy means something.
MIN_REGIME_RECORDS = 50
#: The training split holds at least this many records (about ten per class).
MIN_TRAIN_RECORDS = 100

#: A corruption: (images (n, 8, 8) in [0, 1], severity, generator) -> corrupted images.
CorruptionFn = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]


def _batch(images: np.ndarray) -> np.ndarray:
    """``images`` as a float64 stack (n, 8, 8); a single 8x8 image is a stack of one."""
    stack = np.asarray(images, dtype=np.float64)
    if stack.shape[-2:] != (SIDE, SIDE) or stack.ndim not in (2, 3):
        raise ValueError(f"expected {SIDE}x{SIDE} images, got shape {stack.shape}")
    return stack.reshape(-1, SIDE, SIDE)


def _like(result: np.ndarray, images: np.ndarray) -> np.ndarray:
    return np.clip(result, 0.0, 1.0).reshape(np.shape(images))


def gaussian_noise(images: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise: every pixel plus a normal draw of standard deviation ``sigma``."""
    stack = _batch(images)
    return _like(stack + rng.normal(0.0, sigma, stack.shape), images)


def blur(images: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Defocus: a Gaussian blur of ``sigma`` pixels (outside the image is black, as the background)."""
    from scipy import ndimage

    stack = _batch(images)
    return _like(ndimage.gaussian_filter(stack, sigma=(0.0, sigma, sigma), mode="constant"), images)


def contrast(images: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Low contrast as faded ink: every pixel scaled by ``factor`` towards the black background.

    (Pulling pixels towards each image's own mean instead leaves the strongest model the best
    in every regime; faded ink is where a small network carries over and the others do not.)
    """
    return _like(_batch(images) * factor, images)


def rotation(images: np.ndarray, degrees: float, rng: np.random.Generator) -> np.ndarray:
    """A tilted camera: each image turned by ``degrees``, clockwise or anticlockwise at random."""
    from scipy import ndimage

    stack = _batch(images)
    clockwise = rng.random(len(stack)) < 0.5
    out = np.empty_like(stack)
    for mask, angle in ((clockwise, -degrees), (~clockwise, degrees)):
        if mask.any():
            out[mask] = ndimage.rotate(stack[mask], angle, axes=(2, 1), reshape=False, order=1,
                                       mode="constant", cval=0.0)
    return _like(out, images)


def occlusion(images: np.ndarray, side: float, rng: np.random.Generator) -> np.ndarray:
    """Something in the way: a ``side`` x ``side`` square at a random place of each image set to 0."""
    stack = _batch(images)
    size = int(side)
    if not 0 < size <= SIDE:
        raise ValueError(f"occlusion side {side} must be from 1 to {SIDE} pixels")
    rows = rng.integers(0, SIDE - size + 1, len(stack))[:, None, None]
    cols = rng.integers(0, SIDE - size + 1, len(stack))[:, None, None]
    r, c = np.arange(SIDE)[None, :, None], np.arange(SIDE)[None, None, :]
    covered = (r >= rows) & (r < rows + size) & (c >= cols) & (c < cols + size)
    return _like(np.where(covered, 0.0, stack), images)


#: Every corruption by name.
CORRUPTIONS: dict[str, CorruptionFn] = {"noise": gaussian_noise, "blur": blur, "contrast": contrast,
                                        "rotation": rotation, "occlusion": occlusion}


@dataclass(frozen=True)
class _Phase:
    """One regime of the schedule: a corruption (None: clean) and its share of the test stream."""

    corruption: str | None
    severity: float
    share: float
    description: str


#: The test stream's schedule. Lengths vary (4 to 14 % of the stream: 432 to 1 512 records
#: at the default size); noise recurs after other regimes, so reuse of its version can pay.
SCHEDULE = (
    _Phase(None, 0.0, 0.10, "clean images, like the training split"),
    _Phase("noise", 0.3, 0.14, "Gaussian noise, sigma 0.3"),
    _Phase(None, 0.0, 0.04, "clean images again"),
    _Phase("rotation", 20.0, 0.13, "rotated by 20 degrees, either way"),
    _Phase("contrast", 0.4, 0.10, "faded ink: contrast cut to 0.4 against the background"),
    _Phase(None, 0.0, 0.07, "clean images again"),
    _Phase("noise", 0.3, 0.06, "Gaussian noise, sigma 0.3, again"),
    _Phase("blur", 0.8, 0.13, "Gaussian blur, sigma 0.8 pixels"),
    _Phase("occlusion", 3.0, 0.10, "a 3x3-pixel square blacked out at a random place"),
    _Phase(None, 0.0, 0.13, "clean images again"),
)


@dataclass(frozen=True, eq=False)
class DigitsStream:
    """A generated image stream: the clean training split, the test stream and its regimes.

    Unlike the series profiles of ``harmone.data.synth``, whose regimes index the whole
    series, these regimes index the test stream: ``[start, end)`` are record numbers of
    ``test``, in order, covering it exactly.
    """

    train: LabelledData
    test: LabelledData
    regimes: tuple[Regime, ...]


def _boundaries(n_test: int) -> list[int]:
    cumulative = np.cumsum([phase.share for phase in SCHEDULE])
    return [0, *(int(round(share * n_test)) for share in cumulative[:-1]), n_test]


def _fits(n_records: int, train_ratio: float) -> bool:
    n_train = train_size(n_records, train_ratio)
    starts = _boundaries(n_records - n_train)
    return n_train >= MIN_TRAIN_RECORDS and all(b - a >= MIN_REGIME_RECORDS for a, b in zip(starts, starts[1:]))


def min_records(train_ratio: float = 0.1) -> int:
    """The shortest stream whose training split and every regime are long enough."""
    shortest = min(phase.share for phase in SCHEDULE)
    estimate = max(MIN_TRAIN_RECORDS / train_ratio, MIN_REGIME_RECORDS / shortest / (1.0 - train_ratio))
    n = max(1, int(estimate) - 10)
    while not _fits(n, train_ratio):
        n += 1
    return n


def _check(n_records: int, seed: int, train_ratio: float) -> None:
    if not 0.0 < train_ratio < 1.0:
        raise DataError(f"train_ratio must be between 0 and 1 (exclusive), got {train_ratio}")
    if seed < 0:
        raise DataError(f"seed {seed} must be 0 or more")
    if not 0 < n_records <= MAX_RECORDS:
        raise DataError(f"records = {n_records} must be from 1 to {MAX_RECORDS}")
    if not _fits(n_records, train_ratio):
        need = min_records(train_ratio)
        if need > MAX_RECORDS:
            raise DataError(f"train_ratio {train_ratio} leaves no room for the digits stream's regimes "
                            f"within {MAX_RECORDS} records")
        raise DataError(f"records = {n_records} is too few for the digits stream with train_ratio {train_ratio}: "
                        f"need at least {need} (a training split of {MIN_TRAIN_RECORDS} and "
                        f"{MIN_REGIME_RECORDS} records in each of its {len(SCHEDULE)} regimes)")


def source_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits: images (1797, 8, 8) scaled to [0, 1], and their classes."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images / 16.0, digits.target.astype(np.int64)


def _pool_split(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and the test pool: ``TRAIN_POOL_SHARE`` of each class trains."""
    train: list[np.ndarray] = []
    test: list[np.ndarray] = []
    for digit in range(len(CLASS_NAMES)):
        members = rng.permutation(np.flatnonzero(labels == digit))
        cut = int(round(len(members) * TRAIN_POOL_SHARE))
        train.append(members[:cut])
        test.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _generators(seed: int) -> list[np.random.Generator]:
    """Independent generators for the pools, the training draws, the test draws and the corruptions."""
    return [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(4)]


def _records(images: np.ndarray, labels: np.ndarray) -> LabelledData:
    return LabelledData(images.reshape(len(images), SIDE * SIDE), labels, FEATURE_NAMES, CLASS_NAMES)


def source_pools(seed: int = 0) -> tuple[LabelledData, LabelledData]:
    """The training pool and the test pool of ``seed``'s stream, each image once, clean."""
    images, labels = source_images()
    train_idx, test_idx = _pool_split(labels, _generators(seed)[0])
    return _records(images[train_idx], labels[train_idx]), _records(images[test_idx], labels[test_idx])


def generate(n_records: int | None = None, seed: int = 0, train_ratio: float = 0.1) -> DigitsStream:
    """A deterministic stream of ``n_records`` (default ``DEFAULT_RECORDS``), training split first."""
    n_records = DEFAULT_RECORDS if n_records is None else n_records
    _check(n_records, seed, train_ratio)
    pools_rng, train_rng, test_rng, corrupt_rng = _generators(seed)
    images, labels = source_images()
    train_idx, test_idx = _pool_split(labels, pools_rng)
    n_train = train_size(n_records, train_ratio)
    n_test = n_records - n_train
    drawn_train = train_rng.choice(train_idx, n_train)
    drawn_test = test_rng.choice(test_idx, n_test)
    test_images = images[drawn_test]
    regimes: list[Regime] = []
    starts = _boundaries(n_test)
    for phase, start, end in zip(SCHEDULE, starts, starts[1:]):
        if phase.corruption is not None:
            corrupt = CORRUPTIONS[phase.corruption]
            test_images[start:end] = corrupt(test_images[start:end], phase.severity, corrupt_rng)
        regimes.append(Regime(start, end, phase.corruption or "clean", phase.description))
    return DigitsStream(train=_records(images[drawn_train], labels[drawn_train]),
                        test=_records(test_images, labels[drawn_test]), regimes=tuple(regimes))


__all__ = ["CLASS_NAMES", "CORRUPTIONS", "DEFAULT_RECORDS", "DigitsStream", "FEATURE_NAMES", "MAX_RECORDS",
           "SCHEDULE", "blur", "contrast", "gaussian_noise", "generate", "min_records", "occlusion", "rotation",
           "source_images", "source_pools"]
