"""Shellac: batch restoration of historical music collections."""

__version__ = "0.1.0"
