"""Progress bars for long commands: the library reports (done, total); tqdm draws."""

from __future__ import annotations

from typing import Any


class ProgressBar:
    """A callback ``bar(done, total)`` that opens a tqdm bar on first use and closes at the end."""

    def __init__(self, description: str, unit: str, *, leave: bool = False, min_total: int = 1) -> None:
        self.description = description
        self.unit = unit
        self.leave = leave
        self.min_total = min_total
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if total < self.min_total:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=self.description, unit=self.unit, leave=self.leave,
                             unit_scale=self.unit == "pred")
        self._bar.update(done - self._bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def training_bar(kind: str) -> ProgressBar:
    """One bar per model kind, over its epochs (kinds that train in one step show none)."""
    return ProgressBar(f"training {kind}", "epoch", min_total=2)
