"""Chunked audio file processing, so memory follows the chunk size and not the recording's length."""

from __future__ import annotations

import contextlib
import mmap
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from shellac.engine.atomic import atomic_path
from shellac.engine.audio_io import probe
from shellac.engine.errors import AudioLoadError, AudioWriteError

# Chunks hold at most this many samples over all channels (~32 MB of float64 work space each).
CHUNK_SAMPLES = 1 << 22
_SFC_SET_ADD_PEAK_CHUNK = 0x1050
_SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}


def chunk_frames_for(channels: int, seconds: float, sample_rate: int) -> int:
    """Frames per chunk: ``seconds`` long, capped so a chunk holds at most CHUNK_SAMPLES samples."""
    return max(1, min(int(seconds * sample_rate), CHUNK_SAMPLES // max(1, channels)))


def read_frames(path: Path, start: int, stop: int) -> np.ndarray:
    """Samples [start, stop) of ``path`` as float32 (channels, frames); NaN/inf are an error."""
    try:
        with sf.SoundFile(str(path)) as f:
            f.seek(start)
            data = f.read(stop - start, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioLoadError(f"cannot decode {Path(path).name}: {exc} (truncated or corrupt file?)") from exc
    if not np.isfinite(data).all():
        raise AudioLoadError(f"{Path(path).name} contains NaN or infinite samples")
    return np.ascontiguousarray(data.T)


@dataclass(frozen=True)
class Chunk:
    """Samples [start, stop) of a file, with ``left``/``right`` frames of context around them."""

    start: int
    stop: int
    left: int
    right: int
    data: np.ndarray

    def centre(self, processed: np.ndarray) -> np.ndarray:
        """The part of a same-length processed chunk that belongs to [start, stop)."""
        return processed[..., self.left:self.left + (self.stop - self.start)]


def iter_chunks(path: Path, chunk_frames: int, margin: int = 0, *, align: int = 1) -> Iterator[Chunk]:
    """Chunks of ``chunk_frames`` (a multiple of ``align``) with up to ``margin`` frames of context."""
    frames = probe(Path(path)).frames
    chunk_frames = max(align, chunk_frames // align * align)
    margin = -(-margin // align) * align
    for start in range(0, frames, chunk_frames):
        stop = min(frames, start + chunk_frames)
        left, right = min(margin, start), min(margin, frames - stop)
        yield Chunk(start, stop, left, right, read_frames(path, start - left, stop + right))


@dataclass
class ChannelStats:
    """Running per-channel statistics of a stream: count, sum, sum of squares, peak, clipped count."""

    count: int = 0
    total: np.ndarray = field(default_factory=lambda: np.zeros(0))
    squares: np.ndarray = field(default_factory=lambda: np.zeros(0))
    peak: float = 0.0
    clipped: int = 0

    def update(self, block: np.ndarray, clip_level: float = 0.999) -> None:
        """Add a (channels, frames) block."""
        x = block.astype(np.float64)
        if self.total.size == 0:
            self.total, self.squares = np.zeros(x.shape[0]), np.zeros(x.shape[0])
        self.count += x.shape[1]
        self.total += x.sum(axis=1)
        self.squares += (x**2).sum(axis=1)
        # x is this method's own copy: magnitudes overwrite it rather than adding two more temporaries.
        magnitude = np.abs(x, out=x)
        self.peak = max(self.peak, float(magnitude.max(initial=0.0)))
        self.clipped += int((magnitude >= clip_level).sum())

    @property
    def mean(self) -> np.ndarray:
        """Per-channel mean."""
        return self.total / max(1, self.count)

    @property
    def std(self) -> np.ndarray:
        """Per-channel standard deviation."""
        return np.sqrt(np.maximum(self.squares / max(1, self.count) - self.mean**2, 0.0))

    def rms_dbfs(self) -> float | None:
        """RMS over all channels and samples, dBFS rounded to 0.01; None for silence."""
        rms = float(np.sqrt(np.sum(self.squares) / max(1, self.count * self.squares.size)))
        return round(20.0 * np.log10(rms), 2) if rms > 0 else None


class AudioStreamWriter:
    """Write a file block by block; it appears atomically (temp + rename) only when closed cleanly."""

    def __init__(self, path: Path, sample_rate: int, channels: int, *, bit_depth: int = 32) -> None:
        fmt = {".wav": "WAV", ".flac": "FLAC"}.get(Path(path).suffix.lower())
        if fmt is None or bit_depth not in _SUBTYPES or (fmt == "FLAC" and bit_depth == 32):
            raise AudioWriteError(f"cannot write {Path(path).name} with bit depth {bit_depth}")
        self.path = Path(path)
        self.subtype = _SUBTYPES[bit_depth]
        self.stats = ChannelStats()
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._file = self._stack.enter_context(
            sf.SoundFile(str(tmp), "w", int(sample_rate), channels, subtype=self.subtype, format=fmt)
        )
        if self.subtype == "FLOAT":  # no PEAK chunk: it holds a timestamp (see audio_io)
            sf._snd.sf_command(self._file._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)

    @property
    def tmp_path(self) -> Path:
        """Where the data is being written until the file is closed."""
        return Path(self._file.name)

    def write(self, block: np.ndarray) -> None:
        """Append a (channels, frames) block; integer encodings are clipped to [-1, 1]."""
        self.stats.update(block)
        data = np.asarray(block, dtype=np.float32)
        if self.subtype != "FLOAT":
            data = np.clip(data, -1.0, 1.0)
        self._file.write(data.T)

    def __enter__(self) -> AudioStreamWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.__exit__(*exc)


def map_file(
    in_path: Path,
    out_path: Path,
    fn: Callable[[Chunk], np.ndarray],
    *,
    chunk_s: float = 30.0,
    margin_s: float = 0.0,
    bit_depth: int = 32,
    out_channels: int | None = None,
    align: int = 1,
) -> ChannelStats:
    """Apply ``fn`` chunk by chunk; ``fn`` returns the processed centre (channels, stop − start).

    Chunk starts and margins are multiples of ``align`` samples: give the hop of
    any frame-based processing so chunks see the same frame grid as a one-shot
    run. Returns the statistics of what was written. Memory is one chunk plus its
    margins, whatever the recording's length.
    """
    info = probe(Path(in_path))
    frames = chunk_frames_for(info.channels, chunk_s, info.sample_rate)
    margin = int(margin_s * info.sample_rate)
    with AudioStreamWriter(Path(out_path), info.sample_rate, out_channels or info.channels,
                           bit_depth=bit_depth) as writer:
        for chunk in iter_chunks(Path(in_path), frames, margin, align=align):
            writer.write(fn(chunk))
    return writer.stats


def file_stats(path: Path, chunk_s: float = 30.0) -> ChannelStats:
    """Per-channel statistics of a whole file, read chunk by chunk."""
    info = probe(Path(path))
    stats = ChannelStats()
    for chunk in iter_chunks(Path(path), chunk_frames_for(info.channels, chunk_s, info.sample_rate)):
        stats.update(chunk.data)
    return stats


def wav_to_memmap(wav_path: Path, npy_path: Path, *, chunk_s: float = 30.0) -> np.ndarray:
    """Copy a mono file into a float32 ``.npy`` and return it memory-mapped (read-only)."""
    info = probe(Path(wav_path))
    if info.channels != 1:
        raise AudioLoadError(f"{Path(wav_path).name} has {info.channels} channels; expected mono")
    array = np.lib.format.open_memmap(Path(npy_path), mode="w+", dtype=np.float32, shape=(info.frames,))
    for chunk in iter_chunks(Path(wav_path), chunk_frames_for(1, chunk_s, info.sample_rate)):
        array[chunk.start:chunk.stop] = chunk.data[0]
        release_pages(array, chunk.stop)
    array.flush()
    del array
    return np.load(Path(npy_path), mmap_mode="r")


def array_to_wav(array: np.ndarray, wav_path: Path, sample_rate: int, *, chunk_frames: int = 1 << 20) -> None:
    """Write a mono (possibly memory-mapped) array to a float WAV, a chunk at a time."""
    with AudioStreamWriter(Path(wav_path), sample_rate, 1) as writer:
        for start in range(0, array.shape[0], chunk_frames):
            writer.write(np.asarray(array[start:start + chunk_frames], dtype=np.float32)[None, :])
            release_pages(array, start + chunk_frames)


def release_pages(signal: np.ndarray, stop: int) -> None:
    """Let the memory pages of samples before ``stop`` of a memory-mapped mono signal leave the resident set.

    Pages of a file map stay resident once touched, so going through a long
    recording in one map would grow memory with the recording's length. Call
    this with how far a pass through the signal has got: the pages that end by
    ``stop`` are dropped, all of them and not just the latest ones, because a
    page fault also maps cached neighbours, earlier pages included. Their data
    stays in the file, written samples included, and a later access reads it
    back. Arrays in ordinary memory, copy-on-write maps (``np.memmap`` mode
    ``"c"``, whose writes would be lost) and systems other than Linux (where
    ``madvise`` may discard unsaved writes) are left as they are.
    """
    file_map = _shared_file_map(signal)
    if file_map is None:
        return
    map_address = np.frombuffer(file_map, dtype=np.uint8).ctypes.data
    first = signal.ctypes.data - map_address
    end = first + min(stop, signal.shape[0]) * signal.strides[0]
    # The map starts on a page boundary: its first page may also hold the .npy header.
    low, high = first // mmap.PAGESIZE * mmap.PAGESIZE, end // mmap.PAGESIZE * mmap.PAGESIZE
    if high > low:
        file_map.madvise(mmap.MADV_DONTNEED, low, high - low)


def _shared_file_map(signal: np.ndarray) -> mmap.mmap | None:
    """The shared file map that holds a 1-D ``np.memmap`` (or a view of one) on Linux, else None."""
    if not sys.platform.startswith("linux") or signal.ndim != 1 or signal.strides[0] <= 0:
        return None
    shared = False
    owner: object = signal
    while isinstance(owner, np.ndarray):
        shared = shared or (isinstance(owner, np.memmap) and owner.mode in ("r", "r+", "w+"))
        owner = owner.base
    return owner if shared and isinstance(owner, mmap.mmap) else None


def copy_to_layout(
    in_path: Path, out_path: Path, channels: int, frames: int, *, chunk_s: float = 30.0
) -> None:
    """Stream a mono file into ``channels`` identical channels of exactly ``frames`` frames.

    Longer input is cut, shorter input padded with silence.
    """
    info = probe(Path(in_path))
    written = 0
    with AudioStreamWriter(Path(out_path), info.sample_rate, channels) as writer:
        for chunk in iter_chunks(Path(in_path), chunk_frames_for(1, chunk_s, info.sample_rate)):
            block = chunk.data[0][: max(0, frames - written)]
            if block.size:
                writer.write(np.repeat(block[None, :], channels, axis=0))
                written += block.size
        if written < frames:
            writer.write(np.zeros((channels, frames - written), dtype=np.float32))
