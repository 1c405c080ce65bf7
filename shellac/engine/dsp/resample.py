"""Band-limited sample-rate conversion by polyphase filtering (scipy)."""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from shellac.engine.audio_io import probe
from shellac.engine.stream import AudioStreamWriter, chunk_frames_for, iter_chunks, map_file


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample (channels, frames) or (frames,) audio from ``from_rate`` Hz to ``to_rate`` Hz.

    Uses a Kaiser-windowed polyphase low-pass (scipy ``resample_poly``), so
    content above the lower Nyquist frequency is removed rather than aliased.
    Returns float32; the input is returned unchanged when the rates agree.
    """
    if from_rate == to_rate:
        return np.asarray(audio, dtype=np.float32)
    g = gcd(int(from_rate), int(to_rate))
    up, down = int(to_rate) // g, int(from_rate) // g
    out = resample_poly(np.asarray(audio, dtype=np.float64), up, down, axis=-1)
    return out.astype(np.float32)


def resample_file(in_path: Path, out_path: Path, to_rate: int, *, bit_depth: int = 32,
                  chunk_s: float = 30.0, margin_s: float = 1.0, gain: float = 1.0) -> None:
    """Resample a file chunk by chunk to ``to_rate`` Hz (or copy it when the rates agree), times ``gain``.

    Chunks start on multiples of the decimation factor, so every chunk maps to a
    whole number of output samples; ``margin_s`` of context on each side covers
    the polyphase filter, whose output is then cut to the chunk's own span.
    """
    info = probe(Path(in_path))
    if info.sample_rate == to_rate:
        map_file(in_path, out_path, lambda c: c.centre(c.data) * np.float32(gain), bit_depth=bit_depth,
                 chunk_s=chunk_s)
        return
    g = gcd(info.sample_rate, int(to_rate))
    up, down = int(to_rate) // g, info.sample_rate // g
    frames = chunk_frames_for(info.channels, chunk_s, info.sample_rate)
    with AudioStreamWriter(Path(out_path), int(to_rate), info.channels, bit_depth=bit_depth) as writer:
        for chunk in iter_chunks(Path(in_path), frames, int(margin_s * info.sample_rate), align=down):
            out = resample(chunk.data, info.sample_rate, int(to_rate))
            first = chunk.left * up // down
            count = -(-(chunk.stop - chunk.start) * up // down)
            # The last chunk of a file may end off the grid: its output is rounded up, like one-shot.
            writer.write(out[:, first:first + count] * np.float32(gain))
