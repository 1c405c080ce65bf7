"""Catalog-level errors."""

from shellac.engine.errors import ShellacError


class CatalogError(ShellacError):
    """A catalog directory, its catalog.csv or its collection.toml cannot be used."""
