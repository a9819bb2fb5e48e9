"""Typed errors. The CLI prints any ``VoxsmithError`` as one line and exits non-zero."""

from __future__ import annotations


class VoxsmithError(Exception):
    """Base of every error voxsmith raises on purpose (bad input, missing files...)."""

    exit_code = 2


class AudioError(VoxsmithError):
    """Audio that cannot be read or is unusable (missing, corrupt, empty, silent, too short)."""


class TextError(VoxsmithError):
    """Text that cannot be synthesised (empty, absurd, invalid pinyin...)."""


class CheckpointError(VoxsmithError):
    """A checkpoint that is missing, incomplete, or does not match the model it is loaded into."""


class ConfigError(VoxsmithError):
    """An option or configuration value out of its allowed range."""


class EngineError(VoxsmithError):
    """A required external engine or package (speech engine, judge model) is not installed."""


class DataError(VoxsmithError):
    """A data set or manifest that is missing, malformed, or has nothing usable in it."""
