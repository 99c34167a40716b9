"""What the kinds trained in torch share: seeded training with Adam, and fine-tuning as warm start.

torch is imported inside the functions only, so importing this module (and a kind that
uses it) costs nothing in a process that only serves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from harmone.models.base import Model, Progress

if TYPE_CHECKING:
    import torch

#: Torch threads used while training. The networks are tiny, so extra threads only add
#: synchronisation (measured: one thread is fastest on 2 cores), and a fixed count keeps a
#: seed's result independent of the machine's core count.
TRAIN_THREADS = 1


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Train inside: ``TRAIN_THREADS`` threads and torch's generator seeded with ``seed``;
    both restored after, so the caller's threads and random state are left as they were."""
    import torch

    old_threads = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(old_threads)


def adam_epochs(net: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: torch.nn.Module, *,
                learning_rate: float, batch_size: int, epochs: int, seed: int,
                progress: Progress | None) -> dict[str, np.ndarray]:
    """Train ``net`` with Adam on ``loss_fn`` over mini-batches shuffled from ``seed``; its state as
    float64 arrays by torch's names. Call it inside ``seeded``."""
    import torch

    shuffle = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate, fused=True)
    n = inputs.shape[0]
    net.train()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=shuffle)
        for start in range(0, n, batch_size):
            index = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(inputs[index]), targets[index])
            loss.backward()
            optimizer.step()
        if progress is not None:
            progress(epoch + 1, epochs)
    return {name: value.detach().numpy().astype(np.float64) for name, value in net.state_dict().items()}


class FineTuned(Model):
    """A kind whose retraining fine-tunes the serving network for ``warm_epochs`` epochs.

    ``size_keys`` names the settings that shape its weights: a version with other sizes
    cannot be continued from.
    """

    size_keys: ClassVar[tuple[str, ...]]

    @classmethod
    def can_warm_start(cls, params: Mapping[str, Any]) -> bool:
        """Always: a retraining fine-tunes the serving network."""
        return True

    @classmethod
    def warm_share(cls, params: Mapping[str, Any], warm_epochs: int) -> float:
        """``warm_epochs / epochs``: an epoch costs about the same either way on the same data."""
        epochs = params.get("epochs")
        return min(1.0, warm_epochs / epochs) if epochs else 1.0

    def start_from(self, initial: Model, warm_epochs: int) -> bool:
        """Fine-tune for ``warm_epochs`` epochs when ``initial`` has weights of this model's sizes."""
        if any(initial.params.get(key) != self.params.get(key) for key in self.size_keys):
            return False
        self.params["epochs"] = warm_epochs
        return True
