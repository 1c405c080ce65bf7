"""Resolve a reference-LTAS parameter: a model bundle, an LTAS JSON file, or a folder of clean audio."""

from __future__ import annotations

import json
from pathlib import Path

from shellac.engine.dsp.ltas import Ltas, ltas_from_files
from shellac.engine.errors import ModelLoadingError, ParameterError
from shellac.engine.fixity import sha256_file, sha256_json
from shellac.stages.base import StageContext

AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg")
MODEL_PREFIX = "model:"

REFERENCE_HELP = (
    "Reference LTAS: 'model:<key>' (the LTAS stored in a model bundle), a .json LTAS file, or a "
    "folder of clean recordings; relative paths are relative to the catalog directory."
)


def audio_files(folder: Path) -> list[Path]:
    """The audio files under ``folder`` (recursively, sorted); raises ``ModelLoadingError`` if none."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise ModelLoadingError(
            f"reference folder {folder} holds no audio files ({', '.join(AUDIO_SUFFIXES)})"
        )
    return files


def _local_path(reference: str, ctx: StageContext) -> Path:
    path = ctx.resolve(reference)
    if not path.exists():
        raise ModelLoadingError(
            f"reference {reference!r} not found (looked at {path}); give 'model:<key>', a .json "
            "LTAS file or a folder of clean recordings"
        )
    return path


def reference_fingerprint(reference: str, ctx: StageContext) -> str:
    """Checksum identifying the reference data (bundle checksum or file content hashes)."""
    if reference.startswith(MODEL_PREFIX):
        return ctx.models.checksum(reference[len(MODEL_PREFIX):])
    path = _local_path(reference, ctx)
    if path.is_dir():
        return sha256_json([(str(p.relative_to(path)), sha256_file(p)) for p in audio_files(path)])
    return sha256_file(path)


def load_reference(reference: str, ctx: StageContext, *, sample_rate: int, n_fft: int) -> Ltas:
    """The reference LTAS; a folder of audio is analysed at ``sample_rate`` with ``n_fft``."""
    if reference.startswith(MODEL_PREFIX):
        return ctx.models.reference_ltas(reference[len(MODEL_PREFIX):])
    path = _local_path(reference, ctx)
    if path.is_dir():
        return ltas_from_files(audio_files(path), sample_rate, n_fft)
    try:
        return Ltas.from_json_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ParameterError) as exc:
        raise ModelLoadingError(f"{path} is not an LTAS JSON file: {exc}") from exc
