"""Separation of an audio file in bounded memory: HT-Demucs over windows of a memory-mapped mix."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from demucs.apply import BagOfModels, TensorChunk

from shellac.engine.audio_io import probe
from shellac.engine.dsp.resample import resample, resample_file
from shellac.engine.separation import (
    STATS_BLOCK_S,
    VOCALS,
    apply_separation,
    check_settings,
    normalisation,
    to_channels,
)
from shellac.engine.stream import AudioStreamWriter, ChannelStats, iter_chunks, release_pages

# Segment strides of model-rate audio per demucs call, besides its context: a segment either side,
# separated again by the next window (two more demucs calls per window than one whole run).
# Twelve keep htdemucs's windows near 70 s (its output and segments then hold about 250 MB at
# 44.1 kHz stereo) and a tiny test model's near 9 s.
WINDOW_STRIDES = 12
# Audio per chunk of the way back to the recording's rate, seconds (at the model's rate).
CHUNK_S = 10.0
# Context either side of such a chunk, seconds: covers the polyphase resampling filter.
RESAMPLE_MARGIN_S = 1.0


@dataclass(frozen=True)
class SegmentGrid:
    """Where demucs puts its segments, in samples at the model's rate.

    ``stride`` is the least common multiple of a bag's models' strides: a window
    that starts on a multiple of it puts every model's segments where a
    whole-recording run puts them, so the samples it shares with that run get the
    same segments, added in the same order. ``uniform``: all models share one stride.
    """

    stride: int
    longest: int
    uniform: bool


def segment_grid(model: torch.nn.Module, segment_s: float | None, overlap: float) -> SegmentGrid:
    """demucs's segment grid for ``model`` with these settings (as ``apply_model`` computes it)."""
    models = list(model.models) if isinstance(model, BagOfModels) else [model]
    lengths = [int(m.samplerate * (segment_s if segment_s is not None else m.segment)) for m in models]
    strides = [int((1 - overlap) * length) for length in lengths]
    return SegmentGrid(math.lcm(*strides), max(lengths), len(set(strides)) == 1)


def window_context(start: int, stop: int, frames: int, grid: SegmentGrid, shifts: int) -> tuple[int, int]:
    """Where demucs must run, [first, last), for the samples [start, stop) to match a whole run.

    ``start`` and ``stop`` lie on the stride grid. Every segment of a whole run
    that covers the samples must lie whole in the window. With one stride and no
    shifts the segments sit on that grid, which saves a stride either side; a
    shifted pass's grid starts up to a shift earlier, and a bag's models may
    each keep their own.
    """
    tight = grid.uniform and not shifts
    before = -(-grid.longest // grid.stride) - (1 if tight else 0)
    after = grid.longest - (grid.stride if tight else 0)
    return max(0, start - before * grid.stride), min(frames, stop + after)


def _release(array: np.ndarray, stop: int) -> None:
    """Drop the resident pages of every row of a memory-mapped (..., frames) array before ``stop``."""
    for row in array.reshape(-1, array.shape[-1]):
        release_pages(row, stop)


def _model_rate_mix(in_path: Path, work: Path, rate: int, channels: int) -> tuple[np.ndarray, float, float]:
    """The input at the model's rate and layout, normalised, memory-mapped (channels, frames); mean, std."""
    resampled = work / "mix_model_rate.wav"
    resample_file(in_path, resampled, rate)
    info = probe(resampled)
    mix = np.lib.format.open_memmap(work / "mix.npy", mode="w+", dtype=np.float32,
                                    shape=(channels, info.frames))

    def reference_blocks() -> Iterator[np.ndarray]:
        for chunk in iter_chunks(resampled, int(STATS_BLOCK_S * rate)):
            block = to_channels(chunk.data, channels)
            mix[:, chunk.start:chunk.stop] = block
            _release(mix, chunk.stop)
            yield block.mean(axis=0)

    mean, std = normalisation(reference_blocks())
    step = int(STATS_BLOCK_S * rate)
    for start in range(0, info.frames, step):
        mix[:, start:start + step] = (mix[:, start:start + step] - mean) / std
        _release(mix, start + step)
    resampled.unlink()
    return mix, mean, std


def separate_file(
    in_path: Path,
    out_paths: Mapping[str, Path],
    model: torch.nn.Module,
    *,
    work: Path,
    segment_s: float | None = None,
    overlap: float = 0.25,
    device: str = "cpu",
    shifts: int = 0,
    seed: int = 0,
    window_strides: int = WINDOW_STRIDES,
) -> dict[str, ChannelStats]:
    """Write the vocals and the accompaniment of an audio file, holding only a window at a time.

    The samples are those of ``separate_sources`` followed by
    ``vocals_and_accompaniment`` on the whole recording, to the bit: the mix at
    the model's rate and the sources it gives are memory-mapped ``.npy`` files in
    ``work`` (removed at the end), demucs runs on ``window_strides`` segment
    strides of it at a time with a segment of context either side, and every
    window draws its shifts from ``seed`` as the whole recording would.

    Parameters
    ----------
    in_path
        Audio file, any rate and channel count the model's layout maps onto.
    out_paths
        ``{"vocals": path, "accompaniment": path}``: float32 WAVs at the input's rate and layout.
    work
        Folder for the memory-mapped intermediates (about five times the input at the model's rate).
    segment_s, overlap, device, shifts, seed
        As for ``separate_sources``.
    window_strides
        Segment strides per demucs call (memory follows it; the calls repeated at
        the windows' edges fall as it grows).

    Returns
    -------
    dict
        ``vocals`` and ``accompaniment`` -> statistics of what was written.
    """
    check_settings(model, segment_s, overlap, device)
    info = probe(Path(in_path))
    rate, sources = int(model.samplerate), [str(s) for s in model.sources]
    work.mkdir(parents=True, exist_ok=True)
    mix, mean, std = _model_rate_mix(Path(in_path), work, rate, int(model.audio_channels))
    frames = mix.shape[1]
    stems = np.lib.format.open_memmap(work / "sources.npy", mode="w+", dtype=np.float32,
                                      shape=(len(sources), *mix.shape))
    grid = segment_grid(model, segment_s, overlap)
    core = max(1, window_strides) * grid.stride
    tensor = torch.from_numpy(mix)[None]
    for start in range(0, frames, core):
        stop = min(frames, start + core)
        first, last = window_context(start, stop, frames, grid, shifts)
        out = apply_separation(model, TensorChunk(tensor, first, last - first), segment_s=segment_s,
                               overlap=overlap, device=device, shifts=shifts, seed=seed)
        stems[:, :, start:stop] = out[0, :, :, start - first:stop - first].cpu().numpy()
        _release(mix, first)
        _release(stems, stop)
    del tensor, mix
    stats = _write_stems(stems, sources, mean, std, rate, info.sample_rate, info.channels, info.frames,
                         out_paths)
    del stems
    for name in ("mix.npy", "sources.npy"):
        (work / name).unlink()
    return stats


def _write_stems(stems: np.ndarray, sources: list[str], mean: float, std: float, rate: int, sample_rate: int,
                 channels: int, frames: int, out_paths: Mapping[str, Path]) -> dict[str, ChannelStats]:
    """Denormalise, resample to ``sample_rate`` chunk by chunk, group and write the two stems."""
    g = math.gcd(rate, sample_rate)
    up, down = sample_rate // g, rate // g
    total = stems.shape[-1]
    step = max(down, int(CHUNK_S * rate) // down * down)
    margin = -(-int(RESAMPLE_MARGIN_S * rate) // down) * down
    others = [k for k, name in enumerate(sources) if name != VOCALS]
    vocals = sources.index(VOCALS)
    written = 0
    with (AudioStreamWriter(out_paths["vocals"], sample_rate, channels) as vocals_out,
          AudioStreamWriter(out_paths["accompaniment"], sample_rate, channels) as accompaniment_out):
        for start in range(0, total, step):
            stop = min(total, start + step)
            left, right = min(margin, start), min(margin, total - stop)
            block = stems[:, :, start - left:stop + right].astype(np.float64) * std + mean
            first, count = left * up // down, -(-(stop - start) * up // down)
            count = min(count, frames - written)
            back = [to_channels(resample(stem, rate, sample_rate)[:, first:first + count], channels)
                    .astype(np.float32) for stem in block]
            vocals_out.write(back[vocals])
            accompaniment_out.write(np.sum([back[k] for k in others], axis=0, dtype=np.float64)
                                    .astype(np.float32))
            written += count
            _release(stems, stop)
            if written == frames:
                break
        if written < frames:
            silence = np.zeros((channels, frames - written), dtype=np.float32)
            vocals_out.write(silence)
            accompaniment_out.write(silence)
    return {"vocals": vocals_out.stats, "accompaniment": accompaniment_out.stats}
