"""Catalogs: the per-collection recording list, its settings, and their validation."""

from shellac.catalogs.collection import CollectionConfig, load_collection_config
from shellac.catalogs.loader import Catalog, CatalogRowError, load_catalog
from shellac.catalogs.schema import CONTENT_TYPES, Recording

__all__ = [
    "CONTENT_TYPES",
    "Catalog",
    "CatalogRowError",
    "CollectionConfig",
    "Recording",
    "load_catalog",
    "load_collection_config",
]
