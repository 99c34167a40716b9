"""One exception family, so the CLI can turn any user-facing problem into one line."""

from __future__ import annotations


class HarmonEError(Exception):
    """A problem the user can fix; its message names the file, key, row or value at fault."""


class ConfigError(HarmonEError):
    """The workspace configuration is missing, malformed or out of range."""


class WorkspaceError(HarmonEError):
    """The directory is not a workspace, or a workspace file is damaged."""


class DataError(HarmonEError):
    """Input data cannot be used as a stream."""


class ModelError(HarmonEError):
    """A model file is missing, corrupt or of an unknown kind."""


class EnergyError(HarmonEError):
    """An energy meter cannot be read."""


class AdaptationError(HarmonEError):
    """A loop cannot decide on what it read (columns of different lengths, a damaged value)."""
