"""Fakes that ship with HarmonE, so tests (ours and users') need no hardware or wall time."""

from harmone.energy.fake import FakeMeter, ReplayMeter

__all__ = ["FakeMeter", "ReplayMeter"]
