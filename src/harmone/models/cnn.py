"""Small convolutional networks for image records: the accurate, expensive classification kinds.

A record of ``d`` features is read as a square grey image of side ``ceil(sqrt(d))`` (rounded
up to even, so the pooling tiles it), row by row, with the tail zero-padded. Images are what
the kinds are meant for (an 8x8 digit is 64 pixels); on a tabular record they still run, but
the neighbourhoods they learn mean little, and ``logistic`` is the kind to use there.

The network: ``conv1`` 3x3 filters ('same' padding) and a ReLU, optionally (``conv2`` > 0)
a second such layer, a 2x2 max-pool, optionally (``hidden`` > 0) a dense layer with a ReLU,
and a linear layer to the classes. ``cnn-small`` and ``cnn-large`` are the same network with
other sizes.

Training uses torch (imported inside ``fit`` only): Adam on the cross-entropy over shuffled
mini-batches. Serving runs the forward pass in numpy from the trained weights: each
convolution is one gather of every pixel's 3x3 neighbourhood (an index array fixed by the
side, "im2col", whose out-of-image cells point to a zero) and one matrix product, and the
pooling is a maximum over four contiguous blocks. A loaded network needs no torch, and one
prediction costs tens of microseconds (``benchmarks/bench_classifiers.py``).

Persisted arrays (torch's layouts): ``conv1_weight`` (c1, 1, 3, 3), ``conv1_bias``, when
``conv2`` ``conv2_weight`` (c2, c1, 3, 3) and ``conv2_bias``, when ``hidden``
``hidden_weight`` (h, f) and ``hidden_bias``, ``out_weight`` (k, h or f) and ``out_bias``, and
``n_features`` (the record width). ``f`` counts the pooled features channel first, as torch
flattens them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from harmone.models import register
from harmone.models._torch import FineTuned, adam_epochs, seeded
from harmone.models.base import Progress
from harmone.models.classifier import ClassifierModel
from harmone.params import Constraint, Interval

if TYPE_CHECKING:
    import torch

KERNEL = 3
POOL = 2
#: Batch rows served at once by ``predict``: bounds the im2col buffer (rows x pixels x 9 x channels).
PREDICT_CHUNK = 256


def image_side(n_features: int) -> int:
    """The side of the square image that holds ``n_features`` values: ``ceil(sqrt(d))``,
    rounded up to even so that the 2x2 pooling tiles it."""
    side = math.isqrt(n_features - 1) + 1
    return side + side % POOL


def pool_order(side: int) -> np.ndarray:
    """The pixel (row-major index) that each row of a feature map holds in serving order.

    Serving keeps a map's rows grouped by their place in their 2x2 pooling window: first
    every window's top-left pixel (windows row-major), then every top-right, bottom-left,
    bottom-right. Pooling is then an element-wise maximum of four contiguous blocks.
    """
    half = side // POOL
    window_row, window_col, dy, dx = np.meshgrid(np.arange(half), np.arange(half), np.arange(POOL),
                                                 np.arange(POOL), indexing="ij")
    pixel = (window_row * POOL + dy) * side + window_col * POOL + dx
    return pixel.transpose(2, 3, 0, 1).reshape(-1)


def neighbourhoods(side: int, order: np.ndarray, source: np.ndarray | None) -> np.ndarray:
    """For each pixel in ``order``, where its 3x3 neighbourhood (row-major) is in a map whose
    rows hold the pixels ``source`` (None: row-major); a cell outside the image points to row
    ``side * side``, where the map keeps a zero."""
    offsets = np.arange(KERNEL) - KERNEL // 2
    row, col = np.divmod(order, side)
    rows = row[:, None, None] + offsets[None, :, None]
    cols = col[:, None, None] + offsets[None, None, :]
    inside = (rows >= 0) & (rows < side) & (cols >= 0) & (cols < side)
    where = np.arange(side * side) if source is None else np.argsort(source)
    flat = np.where(inside, where[np.clip(rows, 0, side - 1) * side + np.clip(cols, 0, side - 1)], side * side)
    return flat.reshape(len(order), KERNEL * KERNEL)


def _build_net(n_features: int, n_classes: int, conv1: int, conv2: int, hidden: int) -> torch.nn.Module:
    import torch
    from torch import nn

    side = image_side(n_features)
    pooled = side // POOL
    layers: list[nn.Module] = [nn.Conv2d(1, conv1, KERNEL, padding=KERNEL // 2), nn.ReLU()]
    if conv2:
        layers += [nn.Conv2d(conv1, conv2, KERNEL, padding=KERNEL // 2), nn.ReLU()]
    layers += [nn.MaxPool2d(POOL), nn.Flatten()]
    width = (conv2 or conv1) * pooled * pooled
    if hidden:
        layers += [nn.Linear(width, hidden), nn.ReLU()]
    layers.append(nn.Linear(hidden or width, n_classes))

    class Cnn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            image = nn.functional.pad(x, (0, side * side - n_features)).view(-1, 1, side, side)
            return self.layers(image)

    return Cnn()


def _torch_names(conv2: int, hidden: int) -> dict[str, str]:
    """Our array names by the torch state-dict keys of ``_build_net``'s layers."""
    names = {"layers.0": "conv1"}
    index = 2
    if conv2:
        names[f"layers.{index}"] = "conv2"
        index += 2
    index += 2  # pool, flatten
    if hidden:
        names[f"layers.{index}"] = "hidden"
        index += 2
    names[f"layers.{index}"] = "out"
    return {f"{key}.{part}": f"{name}_{part}" for key, name in names.items() for part in ("weight", "bias")}


class CnnModel(FineTuned, ClassifierModel):
    """The network of this module; subclasses registered as kinds differ in their default sizes."""

    parameter_constraints: ClassVar[Mapping[str, Constraint]] = {
        "conv1": Interval(int, 1, None), "conv2": Interval(int, 0, None), "hidden": Interval(int, 0, None),
        "learning_rate": Interval(float, 0, None, closed="neither"), "batch_size": Interval(int, 1, None),
        "epochs": Interval(int, 1, None),
    }
    size_keys: ClassVar[tuple[str, ...]] = ("conv1", "conv2", "hidden")

    # -- training ------------------------------------------------------------------------------

    def _sizes(self) -> tuple[int, int, int]:
        return int(self.params["conv1"]), int(self.params["conv2"]), int(self.params["hidden"])

    def _train(self, X: np.ndarray, labels: np.ndarray, start: Mapping[str, np.ndarray] | None, *,
               seed: int, progress: Progress | None) -> dict[str, np.ndarray]:
        """Adam on the cross-entropy over shuffled mini-batches; the same seed gives the same weights."""
        import torch

        n_classes = int(labels.max()) + 1 if start is None else start["out_weight"].shape[0]
        with seeded(seed):
            net = _build_net(X.shape[1], n_classes, *self._sizes())
            if start is not None:
                net.load_state_dict(self._to_state(start))
            state = adam_epochs(net, torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(labels),
                                torch.nn.CrossEntropyLoss(), learning_rate=float(self.params["learning_rate"]),
                                batch_size=int(self.params["batch_size"]), epochs=int(self.params["epochs"]),
                                seed=seed, progress=progress)
        names = _torch_names(int(self.params["conv2"]), int(self.params["hidden"]))
        arrays = {names[key]: value for key, value in state.items()}
        arrays["n_features"] = np.asarray([X.shape[1]])
        return arrays

    def _to_state(self, arrays: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
        import torch

        names = _torch_names(int(self.params["conv2"]), int(self.params["hidden"]))
        return {key: torch.as_tensor(arrays[name], dtype=torch.float32) for key, name in names.items()}

    def to_torch(self) -> torch.nn.Module:
        """The fitted network as a torch module (float32), e.g. to cross-check the numpy forward pass."""
        net = _build_net(self._fitted(), self.n_classes_, *self._sizes())
        net.load_state_dict(self._to_state(self.to_arrays()))
        return net.eval()

    # -- state ---------------------------------------------------------------------------------

    def _expected_shapes(self, n_features: int, n_classes: int) -> dict[str, tuple[int, ...]]:
        conv1, conv2, hidden = self._sizes()
        pooled = image_side(n_features) // POOL
        shapes: dict[str, tuple[int, ...]] = {"conv1_weight": (conv1, 1, KERNEL, KERNEL), "conv1_bias": (conv1,)}
        if conv2:
            shapes |= {"conv2_weight": (conv2, conv1, KERNEL, KERNEL), "conv2_bias": (conv2,)}
        width = (conv2 or conv1) * pooled * pooled
        if hidden:
            shapes |= {"hidden_weight": (hidden, width), "hidden_bias": (hidden,)}
        return shapes | {"out_weight": (n_classes, hidden or width), "out_bias": (n_classes,)}

    def _set_weights(self, arrays: Mapping[str, np.ndarray]) -> None:
        n_features = np.asarray(arrays["n_features"])
        if n_features.shape != (1,) or n_features.dtype.kind not in "iu" or n_features[0] < 1:
            raise ValueError(f"array 'n_features' must hold one positive integer, got {n_features!r}")
        d = int(n_features[0])
        out = np.asarray(arrays["out_weight"])
        if out.ndim != 2 or out.shape[0] < 1:
            raise ValueError(f"array 'out_weight' must be a non-empty matrix, got shape {out.shape}")
        checked: dict[str, np.ndarray] = {}
        for name, shape in self._expected_shapes(d, out.shape[0]).items():
            if name not in arrays:
                raise ValueError(f"array {name!r} is missing for conv1, conv2, hidden = {self._sizes()}")
            value = np.array(arrays[name], dtype=np.float64)
            if value.shape != shape:
                raise ValueError(f"array {name!r} must have shape {shape} for conv1, conv2, hidden = "
                                 f"{self._sizes()} and {d} features, got {value.shape}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"array {name!r} holds non-finite weights")
            checked[name] = value
        self._arrays = checked
        self.n_features_, self.n_classes_ = d, out.shape[0]
        self._prepare_serving()

    def _prepare_serving(self) -> None:
        """The weights in the layouts the numpy forward pass multiplies by, and the gather indices."""
        a = self._arrays
        side = image_side(self.n_features_)
        pixels = side * side
        order = pool_order(side)
        self._pixels = pixels
        # The record's cells after its own values: zeros up to the image's end, the zero that
        # the first gather's outside cells point to, and a one that carries the first bias.
        self._tail = np.zeros(pixels + 2 - self.n_features_)
        self._tail[-1] = 1.0
        first = neighbourhoods(side, order, None)
        self._gathers = [np.hstack([first, np.full((pixels, 1), pixels + 1)])]
        # (c_out, c_in, 3, 3) -> (3 * 3 * c_in, c_out), matching a gathered row (cell, channel).
        weights = [w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])
                   for name in ("conv1", "conv2") if (w := a.get(f"{name}_weight")) is not None]
        weights[0] = np.vstack([weights[0], a["conv1_bias"][None, :]])
        self._convs = [(np.ascontiguousarray(weights[0]), None)]
        if len(weights) > 1:
            self._gathers.append(neighbourhoods(side, order, order))
            self._convs.append((np.ascontiguousarray(weights[1]), a["conv2_bias"]))
        channels = weights[-1].shape[1]
        cells = pixels // (POOL * POOL)
        # The first dense layer takes the pooled map in (cell, channel) order; torch flattens channel first.
        dense = [(a[f"{name}_weight"], a[f"{name}_bias"]) for name in ("hidden", "out") if f"{name}_weight" in a]
        w, bias = dense[0]
        dense[0] = (w.reshape(-1, channels, cells).transpose(0, 2, 1).reshape(w.shape[0], -1), bias)
        self._dense = [(np.ascontiguousarray(w.T), b) for w, b in dense]

    def to_arrays(self) -> dict[str, np.ndarray]:
        self._fitted()
        return {name: value.copy() for name, value in self._arrays.items()} | {
            "n_features": np.asarray([self.n_features_], dtype=np.int64)}

    # -- serving -------------------------------------------------------------------------------

    def _logits(self, X: np.ndarray) -> np.ndarray:
        chunks = [self._forward(X[i:i + PREDICT_CHUNK]) for i in range(0, X.shape[0], PREDICT_CHUNK)]
        return np.concatenate(chunks) if chunks else np.empty((0, self.n_classes_))

    def _logits_one(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x[None, :])[0]

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """Class scores of a batch ``(n, d)``; ``predict_one`` runs it on a batch of one."""
        n, pixels = X.shape[0], self._pixels
        maps = np.empty((n, X.shape[1] + self._tail.shape[0]))
        maps[:, :X.shape[1]] = X
        maps[:, X.shape[1]:] = self._tail
        for (weight, bias), gather in zip(self._convs, self._gathers):
            # A layer's output is (n, pixels + 1, channels): the extra row is the next gather's zero.
            out = np.empty((n, pixels + 1, weight.shape[1]))
            out[:, pixels] = 0.0
            np.matmul(maps.take(gather, axis=1).reshape(n, pixels, -1), weight, out=out[:, :pixels])
            if bias is not None:
                out[:, :pixels] += bias
            np.maximum(out, 0.0, out=out)
            maps = out
        # Rows are grouped by place in the pooling window (``pool_order``): pool the four groups.
        h = maps[:, :pixels].reshape(n, POOL * POOL, pixels // (POOL * POOL), -1).max(axis=1).reshape(n, -1)
        for weight, bias in self._dense[:-1]:
            h = h @ weight
            h += bias
            np.maximum(h, 0.0, out=h)
        weight, bias = self._dense[-1]
        return h @ weight + bias


@register
class CnnSmallModel(CnnModel):
    """One convolution of 8 channels, pooling, a 32-unit dense layer."""

    kind: ClassVar[str] = "cnn-small"
    default_params: ClassVar[Mapping[str, Any]] = {
        "conv1": 8, "conv2": 0, "hidden": 32, "learning_rate": 0.01, "batch_size": 32, "epochs": 20,
    }


@register
class CnnLargeModel(CnnModel):
    """Two convolutions of 32 and 64 channels, pooling, a 128-unit dense layer."""

    kind: ClassVar[str] = "cnn-large"
    default_params: ClassVar[Mapping[str, Any]] = {
        "conv1": 32, "conv2": 64, "hidden": 128, "learning_rate": 0.005, "batch_size": 32, "epochs": 15,
    }
