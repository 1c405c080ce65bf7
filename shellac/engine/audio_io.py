"""Audio file probing, validated reading and atomic writing (libsndfile via soundfile)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.atomic import atomic_path
from shellac.engine.errors import AudioLoadError, AudioWriteError

_BIT_DEPTHS = {
    "PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32,
    "FLOAT": 32, "DOUBLE": 64, "ALAW": 8, "ULAW": 8,
}
# Writable output encodings: Shellac delivers 16/24-bit integer or float intermediates.
_SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}
# libsndfile's SFC_SET_ADD_PEAK_CHUNK: its PEAK chunk carries a write timestamp, which would
# make two writes of the same samples differ byte for byte (and break content-hash cache keys).
_SFC_SET_ADD_PEAK_CHUNK = 0x1050


@dataclass(frozen=True)
class AudioInfo:
    """What a probe learns about an audio file without decoding it."""

    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    format: str
    subtype: str
    bit_depth: int | None

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return asdict(self)


def probe(path: Path) -> AudioInfo:
    """Read the header of ``path`` and describe the audio.

    Raises
    ------
    AudioLoadError
        If the file is missing, empty, not audio, or has no frames.
    """
    path = Path(path)
    if not path.exists():
        raise AudioLoadError(f"file not found: {path}")
    if not path.is_file():
        raise AudioLoadError(f"not a regular file: {path}")
    if path.stat().st_size == 0:
        raise AudioLoadError(f"file is empty (0 bytes): {path}")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioLoadError(
            f"cannot read {path.name} as audio ({exc}); is it a WAV/FLAC/AIFF/OGG file "
            "with an intact header?"
        ) from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioLoadError(f"{path.name} has no audio frames")
    return AudioInfo(
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        duration_s=float(info.frames) / float(info.samplerate),
        format=str(info.format),
        subtype=str(info.subtype),
        bit_depth=_BIT_DEPTHS.get(str(info.subtype)),
    )


def read_audio(path: Path, *, start: int = 0, frames: int = -1) -> tuple[np.ndarray, int]:
    """Decode ``path`` into float32 samples shaped (channels, frames).

    Parameters
    ----------
    path
        Audio file (any format libsndfile reads).
    start, frames
        Optional window in samples; ``frames=-1`` reads to the end.

    Returns
    -------
    audio, sample_rate
        ``audio`` is float32, shape (channels, frames), nominally in [-1, 1].

    Raises
    ------
    AudioLoadError
        If decoding fails or the samples contain NaN or infinity.
    """
    path = Path(path)
    probe(path)
    try:
        data, sr = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioLoadError(f"cannot decode {path.name}: {exc} (truncated or corrupt file?)") from exc
    if data.shape[0] == 0:
        raise AudioLoadError(f"{path.name} decoded to zero frames (truncated file?)")
    if not np.isfinite(data).all():
        raise AudioLoadError(f"{path.name} contains NaN or infinite samples")
    return np.ascontiguousarray(data.T), int(sr)


def write_audio(
    path: Path, audio: np.ndarray, sample_rate: int, *, bit_depth: int = 32
) -> None:
    """Write (channels, frames) float audio to ``path`` atomically and reproducibly.

    The same samples always give the same bytes (no timestamps), so files can be
    identified by their content hash. The container follows the suffix (.wav,
    .flac). ``bit_depth`` is 16 or 24 (integer PCM) or 32 (float; WAV only).
    Samples are clipped to [-1, 1] for integer encodings so a stray peak cannot
    wrap around.
    """
    path = Path(path)
    if audio.ndim == 1:
        audio = audio[None, :]
    if bit_depth not in _SUBTYPES:
        raise AudioWriteError(f"unsupported bit depth {bit_depth}; use 16, 24 or 32 (float)")
    subtype = _SUBTYPES[bit_depth]
    fmt = {".wav": "WAV", ".flac": "FLAC"}.get(path.suffix.lower())
    if fmt is None:
        raise AudioWriteError(f"unsupported output extension {path.suffix!r}; use .wav or .flac")
    if fmt == "FLAC" and subtype == "FLOAT":
        raise AudioWriteError("FLAC stores integers only; use bit_depth 16 or 24")
    data = np.asarray(audio, dtype=np.float32).T
    if subtype != "FLOAT":
        data = np.clip(data, -1.0, 1.0)
    with (
        atomic_path(path) as tmp,
        sf.SoundFile(str(tmp), "w", int(sample_rate), data.shape[1], subtype=subtype, format=fmt) as out,
    ):
        if subtype == "FLOAT":
            sf._snd.sf_command(out._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
        out.write(data)
