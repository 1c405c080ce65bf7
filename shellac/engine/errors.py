"""Narrow exception classes shared by the engine and everything above it."""


class ShellacError(Exception):
    """Base class: every error Shellac raises on purpose derives from it."""


class AudioLoadError(ShellacError):
    """An input file cannot be read as usable audio (missing, corrupt, empty, silent...)."""


class AudioWriteError(ShellacError):
    """An output file cannot be written (disk full, permissions)."""


class ModelLoadingError(ShellacError):
    """A model bundle or checkpoint is missing, corrupt or of an unknown version."""


class FixityError(ShellacError):
    """A master's checksum no longer matches the one recorded at ingest."""


class ParameterError(ShellacError):
    """Parameters are inconsistent with the input (e.g. a segment longer than allowed)."""


class TransientError(ShellacError):
    """A fault worth retrying (I/O hiccup, device out of memory)."""


class UnsafePathError(ShellacError):
    """A write would land among the masters, or a master lies outside its source root."""
