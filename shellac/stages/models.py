"""Find model bundles and reference LTAS files in the local models directory (nothing is downloaded)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from shellac.engine.errors import ModelLoadingError

if TYPE_CHECKING:
    from shellac.engine.dsp.ltas import Ltas
    from shellac.engine.dsp.register import RegisterTable
    from shellac.engine.models.bundle import LoadedBundle

MODELS_ENV = "SHELLAC_MODELS_DIR"
BUNDLE_FILES = ("model.safetensors", "config.json", "ltas.json", "card.json")
REGISTER_FILE = "register.json"
"""Optional bundle file: the training material's spectrum per semitone (ltas_eq's ``register``)."""
# A bundle key names one folder of the models directory, never a path out of it.
BUNDLE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def default_models_dir() -> Path:
    """``$SHELLAC_MODELS_DIR`` if set, else ``models/`` in the current directory."""
    return Path(os.environ.get(MODELS_ENV, "models")).resolve()


class ModelStore:
    """The local models directory: one sub-directory per bundle, named by its key."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root).resolve() if root is not None else default_models_dir()

    def bundle_dir(self, key: str) -> Path:
        """Directory of bundle ``key``; raises ``ModelLoadingError`` saying where to put it."""
        if not BUNDLE_KEY.fullmatch(key):
            raise ModelLoadingError(
                f"model key {key!r} is not a plain bundle name (letters, digits, '.', '_', '-'): "
                f"models are looked up only as folders directly inside {self.root}"
            )
        path = self.root / key
        missing = [f for f in BUNDLE_FILES if not (path / f).is_file()]
        if missing:
            raise ModelLoadingError(
                f"model {key!r} is not installed: expected a bundle directory {path}/ containing "
                f"{', '.join(BUNDLE_FILES)} (missing: {', '.join(missing)}). Put the bundle there, "
                f"or point --models-dir / ${MODELS_ENV} at the directory that holds it."
            )
        return path

    def checksum(self, key: str) -> str:
        """Checksum of everything in bundle ``key`` that affects outputs (weights, config, LTAS)."""
        from shellac.engine.models.bundle import bundle_checksum  # torch: only when a model is used

        return bundle_checksum(self.bundle_dir(key))

    def reference_ltas(self, key: str) -> Ltas:
        """The reference LTAS stored in bundle ``key`` (no weights are loaded)."""
        from shellac.engine.models.bundle import read_reference_ltas

        return read_reference_ltas(self.bundle_dir(key))

    def register_path(self, key: str) -> Path:
        """Bundle ``key``'s register table file; raises ``ModelLoadingError`` saying how to build it."""
        path = self.bundle_dir(key) / REGISTER_FILE
        if not path.is_file():
            raise ModelLoadingError(
                f"model {key!r} has no register table: expected {path}. Build it from clean recordings "
                f"like the bundle's training material with `shellac models register-table {key} AUDIO_DIR` "
                "(docs/models.md), or set ltas_eq.match_register = false"
            )
        return path

    def register_table(self, key: str) -> RegisterTable:
        """The register table of bundle ``key`` (see :meth:`register_path`)."""
        from shellac.engine.dsp.register import RegisterTable
        from shellac.engine.errors import ParameterError

        path = self.register_path(key)
        try:
            return RegisterTable.from_json_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, ParameterError) as exc:
            raise ModelLoadingError(f"{path} is not a register table: {exc}") from exc

    def load(self, key: str, device: str = "cpu") -> LoadedBundle:
        """Load bundle ``key`` (weights checksum verified) onto ``device``."""
        from shellac.engine.models.bundle import load_bundle

        return load_bundle(self.bundle_dir(key), device=device)
