"""A one-layer LSTM with a linear head: the most accurate kind and the most expensive one.

Training uses torch (imported inside ``fit`` only). Serving runs the forward pass in numpy
from the trained weights, so a loaded LSTM needs no torch at all and one prediction costs
tens of microseconds instead of a framework call.

Persisted arrays use torch's layout (gate rows ordered input, forget, cell, output):
``weight_ih`` (4H, 1), ``weight_hh`` (4H, H), ``bias_ih`` (4H,), ``bias_hh`` (4H,),
``head_weight`` (1, H), ``head_bias`` (1,).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from harmone.errors import ModelError
from harmone.models import register
from harmone.models._torch import FineTuned, adam_epochs, seeded
from harmone.models.base import CONTEXT, INPUTS, Model, Progress
from harmone.models.linear import check_training_data
from harmone.params import Constraint, Interval

if TYPE_CHECKING:
    import torch

_ARRAY_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "head_weight", "head_bias")


def _build_net(hidden_size: int) -> torch.nn.Module:
    import torch
    from torch import nn

    class LstmRegressor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(input_size=1, hidden_size=hidden_size, batch_first=True)
            self.head = nn.Linear(hidden_size, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    return LstmRegressor()


@register
class LstmModel(FineTuned):
    """One LSTM layer over the window, a linear head on the last hidden state."""

    kind: ClassVar[str] = "lstm"
    default_params: ClassVar[Mapping[str, Any]] = {
        "hidden_size": 50, "learning_rate": 0.001, "batch_size": 16, "epochs": 50,
        "inputs": "relative", "context": 0,
    }
    parameter_constraints: ClassVar[Mapping[str, Constraint]] = {
        "hidden_size": Interval(int, 1, None), "learning_rate": Interval(float, 0, None, closed="neither"),
        "batch_size": Interval(int, 1, None), "epochs": Interval(int, 1, None), "inputs": INPUTS,
        "context": CONTEXT,
    }
    published_params: ClassVar[Mapping[str, Any]] = {"inputs": "minmax", "context": 0}
    size_keys: ClassVar[tuple[str, ...]] = ("hidden_size",)

    weight_ih_: np.ndarray
    weight_hh_: np.ndarray
    bias_ih_: np.ndarray
    bias_hh_: np.ndarray
    head_weight_: np.ndarray
    head_bias_: np.ndarray

    # -- warm start: fine-tune the serving weights ------------------------------------------

    def fit_from(self, X: np.ndarray, y: np.ndarray, initial: Model, *, seed: int = 0,
                 progress: Progress | None = None) -> Self:
        assert isinstance(initial, LstmModel)
        return self.fine_tune(X, y, initial, seed=seed, progress=progress)

    # -- training -------------------------------------------------------------------------

    def fit(self, X: np.ndarray, y: np.ndarray, *, seed: int = 0, progress: Progress | None = None) -> Self:
        """Adam on MSE over shuffled mini-batches; the same seed gives the same weights."""
        return self._train(X, y, seed=seed, progress=progress, initial=None)

    def fine_tune(self, X: np.ndarray, y: np.ndarray, initial: LstmModel, *, seed: int = 0,
                  progress: Progress | None = None) -> Self:
        """``fit`` starting from ``initial``'s weights (warm start): a few epochs adapt a fitted
        network to a new regime for a fraction of a retraining from scratch."""
        if int(initial.params["hidden_size"]) != int(self.params["hidden_size"]):
            raise ValueError(f"warm start needs hidden_size {self.params['hidden_size']}, "
                             f"the initial model has {initial.params['hidden_size']}")
        return self._train(X, y, seed=seed, progress=progress, initial=initial)

    def _train(self, X: np.ndarray, y: np.ndarray, *, seed: int, progress: Progress | None,
               initial: LstmModel | None) -> Self:
        import torch

        self.check_params(self.params)
        X, y = check_training_data(X, y)
        hidden = int(self.params["hidden_size"])
        with seeded(seed):
            net = _build_net(hidden) if initial is None else initial.to_torch().train()
            inputs = torch.as_tensor(X, dtype=torch.float32).unsqueeze(-1)
            targets = torch.as_tensor(y, dtype=torch.float32).unsqueeze(-1)
            state = adam_epochs(net, inputs, targets, torch.nn.MSELoss(),
                                learning_rate=float(self.params["learning_rate"]),
                                batch_size=int(self.params["batch_size"]), epochs=int(self.params["epochs"]),
                                seed=seed, progress=progress)
        self._set_weights({
            "weight_ih": state["lstm.weight_ih_l0"], "weight_hh": state["lstm.weight_hh_l0"],
            "bias_ih": state["lstm.bias_ih_l0"], "bias_hh": state["lstm.bias_hh_l0"],
            "head_weight": state["head.weight"], "head_bias": state["head.bias"],
        })
        return self

    def to_torch(self) -> torch.nn.Module:
        """The fitted network as a torch module (float32), e.g. to cross-check the numpy forward pass."""
        import torch

        arrays = self.to_arrays()
        net = _build_net(int(self.params["hidden_size"]))
        names = {"weight_ih": "lstm.weight_ih_l0", "weight_hh": "lstm.weight_hh_l0", "bias_ih": "lstm.bias_ih_l0",
                 "bias_hh": "lstm.bias_hh_l0", "head_weight": "head.weight", "head_bias": "head.bias"}
        net.load_state_dict({names[k]: torch.as_tensor(v, dtype=torch.float32) for k, v in arrays.items()})
        return net.eval()

    # -- state ----------------------------------------------------------------------------

    def _set_weights(self, arrays: Mapping[str, np.ndarray]) -> None:
        hidden = int(self.params["hidden_size"])
        gates = 4 * hidden
        expected = {"weight_ih": (gates, 1), "weight_hh": (gates, hidden), "bias_ih": (gates,),
                    "bias_hh": (gates,), "head_weight": (1, hidden), "head_bias": (1,)}
        checked: dict[str, np.ndarray] = {}
        for name, shape in expected.items():
            value = np.array(arrays[name], dtype=np.float64)
            if value.shape != shape:
                raise ValueError(f"array {name!r} must have shape {shape} for hidden_size {hidden}, got {value.shape}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"array {name!r} holds non-finite weights")
            checked[name] = value
        self.weight_ih_ = checked["weight_ih"]
        self.weight_hh_ = checked["weight_hh"]
        self.bias_ih_ = checked["bias_ih"]
        self.bias_hh_ = checked["bias_hh"]
        self.head_weight_ = checked["head_weight"]
        self.head_bias_ = checked["head_bias"]
        # sigmoid(a) = 0.5 + 0.5 * tanh(a / 2): halve the i, f, o rows so one tanh over all
        # 4H pre-activations yields every gate, then map those rows back with z * 0.5 + 0.5.
        scale = np.full(gates, 0.5)
        scale[2 * hidden:3 * hidden] = 1.0
        self._w_in = checked["weight_ih"][:, 0] * scale
        self._bias = (checked["bias_ih"] + checked["bias_hh"]) * scale
        self._w_hh = np.ascontiguousarray(checked["weight_hh"] * scale[:, None])
        self._w_hh_t = np.ascontiguousarray(self._w_hh.T)
        self._gate_mul = scale
        self._gate_add = np.where(scale == 0.5, 0.5, 0.0)
        self._head = np.ascontiguousarray(checked["head_weight"][0])
        self._head_bias = float(checked["head_bias"][0])
        self._hidden = hidden

    def to_arrays(self) -> dict[str, np.ndarray]:
        try:
            return {name: getattr(self, name + "_").copy() for name in _ARRAY_NAMES}
        except AttributeError:
            raise ModelError("lstm model is not fitted") from None


    # -- serving --------------------------------------------------------------------------

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] == 0:
            raise ModelError(f"lstm model expects a 2-D batch of windows, got shape {X.shape}")
        try:
            hidden = self._hidden
        except AttributeError:
            raise ModelError("lstm model is not fitted") from None
        n = X.shape[0]
        h = np.zeros((n, hidden))
        c = np.zeros((n, hidden))
        for t in range(X.shape[1]):
            z = np.multiply.outer(X[:, t], self._w_in)
            z += self._bias
            if t:
                z += h @ self._w_hh_t
            np.tanh(z, out=z)
            z *= self._gate_mul
            z += self._gate_add
            i, f, g, o = z[:, :hidden], z[:, hidden:2 * hidden], z[:, 2 * hidden:3 * hidden], z[:, 3 * hidden:]
            c *= f
            c += i * g
            h = o * np.tanh(c)
        return h @ self._head + self._head_bias

    def predict_one(self, window: Sequence[float]) -> float:
        try:
            hidden = self._hidden
        except AttributeError:
            raise ModelError("lstm model is not fitted") from None
        values = iter(window)
        try:
            first = float(next(values))
        except StopIteration:
            raise ModelError("lstm model got an empty window") from None
        w_in, bias, w_hh = self._w_in, self._bias, self._w_hh
        gate_mul, gate_add = self._gate_mul, self._gate_add
        h1, h2, h3 = hidden, 2 * hidden, 3 * hidden
        z = w_in * first
        z += bias
        np.tanh(z, out=z)
        z *= gate_mul
        z += gate_add
        c = z[:h1] * z[h2:h3]  # the first step has c_prev = 0
        h = np.tanh(c)
        h *= z[h3:]
        for x in values:
            z = w_hh @ h
            z += w_in * float(x)
            z += bias
            np.tanh(z, out=z)
            z *= gate_mul
            z += gate_add
            c *= z[h1:h2]
            c += z[:h1] * z[h2:h3]
            h = np.tanh(c)
            h *= z[h3:]
        return float(self._head @ h) + self._head_bias
