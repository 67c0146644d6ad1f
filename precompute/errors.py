"""Exceptions. Each subclasses the matching builtin too, so callers may catch either."""

__all__ = ["FramechainError", "ClipError", "AnalysisError", "ExportError", "ConfigError"]


class FramechainError(Exception):
    """A known failure with a message fit for a user: the CLI prints it as one line."""


class ClipError(FramechainError, ValueError):
    """The input clip cannot be read or is unfit (names the file and what to do)."""


class AnalysisError(FramechainError, ValueError):
    """A saved analysis is missing, tampered, of another version or of another clip."""


class ConfigError(FramechainError, ValueError):
    """A setting is out of its range."""


class ExportError(FramechainError, OSError):
    """An export could not be written; no partial file is left."""
