"""Model bundles (weights, config, reference LTAS, card) and published-checkpoint import."""

from shellac.engine.models.bundle import LoadedBundle, bundle_checksum, load_bundle, read_card, save_bundle
from shellac.engine.models.card import BundleConfig, ModelCard

__all__ = [
    "BundleConfig",
    "LoadedBundle",
    "ModelCard",
    "bundle_checksum",
    "load_bundle",
    "read_card",
    "save_bundle",
]
