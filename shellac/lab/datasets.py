"""Random training segments from a folder of audio: mono, at the model rate, silence skipped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shellac.engine.audio_io import read_audio
from shellac.engine.dsp.resample import resample
from shellac.engine.errors import AudioLoadError, ParameterError

AUDIO_SUFFIXES = (".wav", ".flac")
# Redraws before concluding a corpus is (almost) all silence.
_MAX_TRIES = 200


def list_audio_files(data_dir: Path) -> list[Path]:
    """WAV/FLAC files under ``data_dir`` (recursively), sorted, hidden files skipped.

    Raises
    ------
    AudioLoadError
        If ``data_dir`` is not a directory or holds no audio.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise AudioLoadError(f"training data folder {root} does not exist or is not a directory")
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not files:
        raise AudioLoadError(f"no .wav or .flac files under {root}")
    return files


@dataclass(frozen=True)
class DatasetSummary:
    """What a dataset holds: for cards and logs."""

    files: int
    duration_s: float
    sample_rate: int

    def describe(self) -> str:
        """One line: file count, minutes, rate."""
        return f"{self.files} file(s), {self.duration_s / 60.0:.1f} min at {self.sample_rate} Hz"


class SegmentDataset:
    """Random fixed-length segments of a folder of audio, preloaded into memory.

    Files are mixed to mono and resampled to ``sample_rate`` once, at construction.
    A segment starts at a uniformly random sample of a file chosen with probability
    proportional to its length; files shorter than a segment are zero-padded.
    Segments whose RMS is below ``silence_db`` dBFS are redrawn. All randomness
    comes from one numpy generator whose state can be saved and restored, so a
    resumed run sees the same segments as an uninterrupted one.

    Parameters
    ----------
    data_dir:
        Folder searched recursively for .wav/.flac files.
    sample_rate:
        Model sample rate, Hz.
    segment_length:
        Segment length, samples.
    seed:
        Seed of the segment draws.
    silence_db:
        RMS threshold in dBFS below which a segment counts as silent.
    """

    def __init__(
        self,
        data_dir: Path,
        sample_rate: int,
        segment_length: int,
        *,
        seed: int = 0,
        silence_db: float = -50.0,
    ) -> None:
        if segment_length < 1 or sample_rate < 1:
            raise ParameterError(f"need positive sample_rate and segment_length, got {sample_rate}, "
                                 f"{segment_length}")
        self.files = list_audio_files(data_dir)
        self.sample_rate = int(sample_rate)
        self.segment_length = int(segment_length)
        self.silence_rms = 10.0 ** (silence_db / 20.0)
        self._audio = [self._load(p) for p in self.files]
        lengths = np.array([a.size for a in self._audio], dtype=np.float64)
        self._weights = lengths / lengths.sum()
        self._rng = np.random.default_rng(seed)

    def _load(self, path: Path) -> np.ndarray:
        audio, sr = read_audio(path)
        mono = audio.mean(axis=0)
        out = resample(mono, sr, self.sample_rate).astype(np.float32)
        if out.size < self.segment_length:
            out = np.pad(out, (0, self.segment_length - out.size))
        return np.ascontiguousarray(out)

    @property
    def summary(self) -> DatasetSummary:
        """File count and total duration (seconds, at the model rate)."""
        total = sum(a.size for a in self._audio)
        return DatasetSummary(len(self.files), total / self.sample_rate, self.sample_rate)

    def segment(self) -> np.ndarray:
        """One non-silent segment, float32 ``[segment_length]``.

        Raises
        ------
        AudioLoadError
            If ``_MAX_TRIES`` draws in a row were all silent.
        """
        for _ in range(_MAX_TRIES):
            index = int(self._rng.choice(len(self._audio), p=self._weights))
            audio = self._audio[index]
            start = int(self._rng.integers(0, audio.size - self.segment_length + 1))
            seg = audio[start : start + self.segment_length]
            if float(np.sqrt(np.mean(np.square(seg, dtype=np.float64)))) >= self.silence_rms:
                return seg.copy()
        raise AudioLoadError(
            f"{_MAX_TRIES} random segments in a row were quieter than the silence threshold "
            f"({20 * np.log10(self.silence_rms):.0f} dBFS); the training folder is (nearly) silent "
            "or too quiet: normalise it or lower silence_db"
        )

    def batch(self, size: int) -> np.ndarray:
        """``size`` segments stacked, float32 ``[size, segment_length]``."""
        return np.stack([self.segment() for _ in range(size)])

    def uniform(self, size: int) -> np.ndarray:
        """``size`` uniform draws in [0, 1) from the dataset's generator (for augmentation)."""
        return self._rng.random(size)

    def get_state(self) -> dict[str, Any]:
        """The generator state (JSON/pickle friendly) for checkpoints."""
        return dict(self._rng.bit_generator.state)

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore a state returned by :meth:`get_state`."""
        self._rng.bit_generator.state = dict(state)
