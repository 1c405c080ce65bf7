"""Inpainting of a file: fill given gaps and detected dropouts with a diffusion prior (streamed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shellac.engine.audio_io import probe, read_audio
from shellac.engine.models.loaded import LoadedBundle
from shellac.engine.operators.base import Operator
from shellac.engine.operators.inpainting import InpaintingOperator, find_dropouts
from shellac.engine.restoration.known import GuidedSettings, restore_flagged
from shellac.engine.stream import release_pages


@dataclass(frozen=True)
class InpaintSettings:
    """Restoration settings and which gaps to fill (dropout detection, longest gap, margin)."""

    guided: GuidedSettings
    detect_dropouts: bool = True
    min_zero_ms: float = 1.0
    dropout_drop_db: float = 40.0
    max_gap_s: float = 2.0
    margin_ms: float = 0.5


@dataclass(frozen=True)
class InpaintResult:
    """The gaps given and found, those skipped as too long, and the filled runs (start, length) in samples."""

    given: int
    dropouts: int
    too_long_skipped: int
    filled: list[tuple[int, int]]


def inpaint(
    source: Path,
    out_path: Path,
    bundle: LoadedBundle,
    gaps: Sequence[tuple[int, int]],
    settings: InpaintSettings,
    *,
    work: Path,
    device: torch.device | str = "cpu",
    checkpoints: Path | None = None,
    checkpoint_key: Mapping[str, Any] | None = None,
) -> InpaintResult:
    """Fill ``gaps`` (start, length in samples) and, if asked, detected dropouts; write ``out_path``.

    Gaps longer than ``max_gap_s`` are left alone; the rest are widened by
    ``margin_ms`` each side and restored in every channel with an
    :class:`InpaintingOperator`; all other samples are copied bit for bit. The
    ``inpaint`` stage and the bench call this. See
    :func:`~shellac.engine.restoration.known.restore_flagged` for ``work`` and ``checkpoints``.
    """
    device = torch.device(device)
    info = probe(Path(source))
    sr, n = info.sample_rate, info.frames
    dropouts: list[tuple[int, int]] = []
    if settings.detect_dropouts:
        # Detection compares each frame with its surroundings; it reads the recording whole.
        dropouts = find_dropouts(read_audio(source)[0], sr, min_zero_ms=settings.min_zero_ms,
                                 drop_db=settings.dropout_drop_db, max_gap_s=settings.max_gap_s)
    margin = int(round(settings.margin_ms * sr / 1000))
    max_len = int(round(settings.max_gap_s * sr))
    work.mkdir(parents=True, exist_ok=True)
    missing = np.lib.format.open_memmap(work / "missing.npy", mode="w+", dtype=bool, shape=(n,))
    skipped = 0
    for start, length in [*gaps, *dropouts]:
        if length > max_len:
            skipped += 1
            continue
        missing[max(0, start - margin):min(n, start + length + margin)] = True
    filled = _runs(missing)

    def operator_for(block_missing: np.ndarray, gain: float) -> Operator:
        return InpaintingOperator(torch.from_numpy((~block_missing).astype(np.float32)).to(device))

    restore_flagged(source, np.broadcast_to(missing, (info.channels, n)), out_path, bundle, operator_for,
                    settings.guided, work=work, device=device, checkpoints=checkpoints,
                    checkpoint_key={"operator": "inpainting", **(checkpoint_key or {})})
    return InpaintResult(len(gaps), len(dropouts), skipped, filled)


def _runs(flags: np.ndarray, chunk: int = 1 << 20) -> list[tuple[int, int]]:
    """(start, length) of the runs of set flags, read a chunk at a time."""
    runs: list[tuple[int, int]] = []
    start = None
    for first in range(0, flags.shape[0], chunk):
        part = flags[first:first + chunk]
        edges = np.flatnonzero(np.diff(part.astype(np.int8), prepend=np.int8(start is not None)))
        for k in edges + first:
            if start is None:
                start = int(k)
            else:
                runs.append((start, int(k) - start))
                start = None
        release_pages(flags, first + chunk)
    if start is not None:
        runs.append((start, flags.shape[0] - start))
    return runs
