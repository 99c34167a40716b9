"""What a matrix covers: seeds (``0-9``, ``0,3,7``) and streams, multiplied into cells."""

from __future__ import annotations

import re
from dataclasses import dataclass

from harmone.config import MAX_SEED
from harmone.errors import HarmonEError

#: Most seeds one matrix takes: a typo like ``0-99999`` should fail, not run for days.
MAX_SEEDS = 100_000


@dataclass(frozen=True, order=True)
class Cell:
    """One stream and one seed: every approach runs on it from the same trained models."""

    stream: str
    seed: int

    @property
    def id(self) -> str:
        """A file-name-safe, unique name: ``<stream>__seed<seed>``."""
        return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', self.stream).strip('_')}__seed{self.seed}"


def parse_seeds(text: str) -> list[int]:
    """``0-9`` -> 0..9; ``1,4,7`` and ``0-2,10`` too; each seed once, in the order given."""
    seeds: list[int] = []
    for part in (p.strip() for p in str(text).split(",")):
        match = re.fullmatch(r"([0-9]+)(?: *- *([0-9]+))?", part)
        if not match:
            raise HarmonEError(f"--seeds {text!r}: {part!r} is not a seed or a range like 0-9")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if high < low:
            raise HarmonEError(f"--seeds {text!r}: range {part!r} runs backwards")
        if high > MAX_SEED:
            raise HarmonEError(f"--seeds {text!r}: {high} is above the largest seed {MAX_SEED}")
        if high - low + 1 + len(seeds) > MAX_SEEDS:
            raise HarmonEError(f"--seeds {text!r}: more than {MAX_SEEDS} seeds")
        seeds.extend(range(low, high + 1))
    return list(dict.fromkeys(seeds))


def parse_streams(text: str) -> list[str]:
    """A comma-separated list of stream names or CSV paths, each once; checked when a cell runs."""
    streams = [part.strip() for part in str(text).split(",") if part.strip()]
    if not streams:
        raise HarmonEError(f"--streams {text!r} names no stream")
    return list(dict.fromkeys(streams))


def cells(streams: list[str], seeds: list[int]) -> list[Cell]:
    """Stream-major order: the cells of one stream run next to each other."""
    return [Cell(stream, seed) for stream in streams for seed in seeds]
