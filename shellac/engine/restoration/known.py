"""Restore the flagged samples of a file (clipped, missing) with a known operator, streamed, per channel."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shellac.engine.audio_io import probe
from shellac.engine.blocks.checkpoints import BlockCheckpointStore
from shellac.engine.blocks.overlap_add import BlockSpan
from shellac.engine.diffusion.methods.choice import MethodSettings
from shellac.engine.dsp.flags import model_rate_length, to_model_rate
from shellac.engine.dsp.resample import resample_file
from shellac.engine.fixity import sha256_file, sha256_json
from shellac.engine.models.loaded import LoadedBundle
from shellac.engine.operators.base import Operator
from shellac.engine.restoration.driver import restore_blocks
from shellac.engine.restoration.operators import KnownOperators
from shellac.engine.restoration.settings import BlockSettings, SamplerSettings
from shellac.engine.stream import (
    AudioStreamWriter,
    ChannelStats,
    array_to_wav,
    chunk_frames_for,
    iter_chunks,
    map_file,
    read_frames,
    release_pages,
    wav_to_memmap,
)

BlockOperatorFn = Callable[[np.ndarray, float], Operator]
"""operator_for(block_flags, gain): a block's operator from its flags (bool) at the model's rate."""


@dataclass(frozen=True)
class GuidedSettings:
    """Guidance method, sampler numbers, block overlap (fraction of the segment) and noise seed."""

    method: MethodSettings
    sampler: SamplerSettings
    overlap_fraction: float = 0.1
    seed: int = 0


def any_flagged(flags: np.ndarray) -> bool:
    """Whether a (possibly memory-mapped) 1-D map has a set flag, read a chunk at a time."""
    for start in range(0, flags.shape[0], 1 << 20):
        found = bool(flags[start:start + (1 << 20)].any())
        release_pages(flags, start + (1 << 20))
        if found:
            return True
    return False


def restore_flagged(
    source: Path,
    unknown: np.ndarray,
    out_path: Path,
    bundle: LoadedBundle,
    operator_for: BlockOperatorFn,
    settings: GuidedSettings,
    *,
    work: Path,
    device: torch.device | str = "cpu",
    checkpoints: Path | None = None,
    checkpoint_key: Mapping[str, Any] | None = None,
) -> ChannelStats:
    """Restore the samples of ``source`` that ``unknown`` flags; write ``out_path`` (float32, same rate).

    Parameters
    ----------
    source
        The audio file (any rate and channel count).
    unknown
        ``(channels, frames)`` boolean map at the file's rate (e.g. a memory map, or a
        broadcast view of one map for every channel); channels without a flag are copied.
    operator_for
        See :data:`BlockOperatorFn`; blocks without a flag are copied from the observation.
    work
        Folder for each restored channel's files (its signal and flags at the model's
        rate, memory-mapped, and the output); the caller removes it.
    checkpoints
        Folder of block checkpoints, one sub-folder per channel, under a run key over
        the channel's signal and flags, the settings, the model and ``checkpoint_key``.

    Returns
    -------
    ChannelStats
        Statistics of what was written (its ``peak``, ...).

    Every flagged sample is replaced by the restoration (at the file's rate); every
    other sample is copied bit for bit. Memory is bounded by the block and chunk
    sizes, whatever the recording's length.
    """
    info = probe(Path(source))
    denoiser = bundle.denoiser(device)
    restored = {ch: _restore_channel(source, ch, unknown[ch], bundle, denoiser, operator_for, settings,
                                     work=work, device=torch.device(device), checkpoints=checkpoints,
                                     checkpoint_key=checkpoint_key or {})
                for ch in range(info.channels) if any_flagged(unknown[ch])}
    frames = chunk_frames_for(info.channels, 30.0, info.sample_rate)
    with AudioStreamWriter(Path(out_path), info.sample_rate, info.channels) as writer:
        for chunk in iter_chunks(Path(source), frames):
            data = chunk.data
            for ch, back_path in restored.items():
                back = read_frames(back_path, chunk.start, chunk.stop)[0]
                back = np.pad(back, (0, data.shape[1] - back.size))
                data[ch] = np.where(unknown[ch, chunk.start:chunk.stop], back, data[ch])
                release_pages(unknown[ch], chunk.stop)
            writer.write(data)
    return writer.stats


def _restore_channel(
    source: Path,
    ch: int,
    unknown: np.ndarray,
    bundle: LoadedBundle,
    denoiser: torch.nn.Module,
    operator_for: BlockOperatorFn,
    settings: GuidedSettings,
    *,
    work: Path,
    device: torch.device,
    checkpoints: Path | None,
    checkpoint_key: Mapping[str, Any],
) -> Path:
    """Restore channel ``ch`` at the model's rate; return its file back at the source's rate."""
    cfg, sr = bundle.config, probe(Path(source)).sample_rate
    work.mkdir(parents=True, exist_ok=True)
    stem = work / f"channel{ch}"
    map_file(source, stem.with_suffix(".wav"), lambda c: c.centre(c.data)[ch:ch + 1], out_channels=1)
    resample_file(stem.with_suffix(".wav"), stem.with_name(f"{stem.name}_model.wav"), cfg.sample_rate)
    y = wav_to_memmap(stem.with_name(f"{stem.name}_model.wav"), stem.with_name(f"{stem.name}_y.npy"))
    n_model = model_rate_length(unknown.shape[0], sr, cfg.sample_rate)
    flags_path = stem.with_name(f"{stem.name}_flags.npy")
    flags = np.lib.format.open_memmap(flags_path, mode="w+", dtype=bool, shape=(max(n_model, y.shape[0]),))
    to_model_rate(unknown, sr, cfg.sample_rate, out=flags)
    flags.flush()
    flags = flags[: y.shape[0]]

    def make_operator(span: BlockSpan, gain: float) -> Operator | None:
        block = np.zeros(span.length, dtype=bool)
        block[: span.valid] = flags[span.start:span.start + span.valid]
        release_pages(flags, span.start)
        return operator_for(block, gain) if block.any() else None

    store = None
    if checkpoints is not None:
        run_key = sha256_json({"y": sha256_file(stem.with_name(f"{stem.name}_y.npy")),
                               "flags": sha256_file(flags_path), "sample_rate": sr,
                               "settings": asdict(settings), "model": bundle.checksum, **checkpoint_key})
        store = BlockCheckpointStore(checkpoints / f"channel{ch}", run_key)
    out = np.lib.format.open_memmap(stem.with_name(f"{stem.name}_out.npy"), mode="w+", dtype=np.float64,
                                    shape=y.shape)
    restore_blocks(denoiser, y, operators=KnownOperators(make_operator), method=settings.method,
                   sampler=settings.sampler,
                   blocks=BlockSettings(segment_length=cfg.segment_length,
                                        overlap_fraction=settings.overlap_fraction, seed=settings.seed),
                   target_std=cfg.sigma_data, checkpoints=store, device=device, out=out)
    array_to_wav(out, stem.with_name(f"{stem.name}_restored_model.wav"), cfg.sample_rate)
    back = stem.with_name(f"{stem.name}_restored.wav")
    resample_file(stem.with_name(f"{stem.name}_restored_model.wav"), back, sr)
    return back
