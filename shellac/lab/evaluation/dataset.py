"""The evaluation set: clean excerpts degraded by seeded random 78 rpm chains, with their true responses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shellac.engine.audio_io import read_audio
from shellac.engine.dsp.resample import resample
from shellac.engine.errors import AudioLoadError, ParameterError
from shellac.lab.degradation import DegradationParams, degrade, random_params

AUDIO_SUFFIXES = (".wav", ".flac", ".aiff", ".aif", ".ogg")
# An excerpt quieter than this fraction of its file's RMS is mostly silence: it is skipped.
MIN_RELATIVE_RMS = 0.25
CLEAN_PEAK = 0.5  # clean excerpts are scaled to this peak, so all are scored at one level


@dataclass(frozen=True)
class Excerpt:
    """One evaluation item at the model's sample rate.

    Attributes
    ----------
    name
        ``<file stem>@<start seconds>``.
    clean, degraded
        Mono float64 signals of equal length (samples).
    sample_rate
        Hz.
    response_freqs_hz, response_db
        The exact response of the degradation chain (clean → degraded), Hz and dB.
    params
        The degradation chain that was drawn.
    """

    name: str
    clean: np.ndarray
    degraded: np.ndarray
    sample_rate: int
    response_freqs_hz: np.ndarray
    response_db: np.ndarray
    params: DegradationParams

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return self.clean.size / self.sample_rate


def clean_files(folders: Iterable[Path]) -> list[Path]:
    """Audio files in ``folders`` (not recursive), sorted, skipping derived ``*.degraded.*`` files."""
    found: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_file():
            found.append(folder)
            continue
        if not folder.is_dir():
            raise AudioLoadError(f"clean material folder {folder} does not exist")
        found += sorted(p for p in folder.iterdir()
                        if p.suffix.lower() in AUDIO_SUFFIXES and ".degraded" not in p.name)
    if not found:
        raise AudioLoadError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {[str(f) for f in folders]}")
    return found


def _excerpt_starts(n: int, length: int, count: int, rng: np.random.Generator) -> list[int]:
    """``count`` non-overlapping start positions (samples), in random order."""
    slots = n // length
    if slots < 1:
        return []
    chosen = rng.permutation(slots)[:count]
    # A random offset inside the slack keeps excerpts off a fixed grid without overlapping.
    slack = n - slots * length
    offset = int(rng.integers(0, slack + 1))
    return [offset + int(s) * length for s in chosen]


def build_evaluation_set(
    files: list[Path],
    sample_rate: int,
    *,
    n_excerpts: int,
    excerpt_samples: int,
    seed: int,
) -> list[Excerpt]:
    """Cut clean files into excerpts and degrade each with its own random historical chain.

    Excerpts are taken round-robin over the files (non-overlapping, non-silent),
    resampled to ``sample_rate``, scaled to a common peak and degraded with
    ``random_params`` (horn-like EQ, band limit 2.5–6 kHz, hiss, crackle, clicks).
    Everything derives from ``seed``.

    Parameters
    ----------
    files
        Clean mono or multichannel recordings (averaged to mono).
    sample_rate
        The model's sample rate, Hz.
    n_excerpts
        Number of excerpts wanted.
    excerpt_samples
        Length of each excerpt in samples at ``sample_rate``.
    seed
        Seed of excerpt positions and degradation chains.

    Raises
    ------
    ParameterError
        If the files do not hold ``n_excerpts`` non-silent excerpts.
    """
    if n_excerpts < 1 or excerpt_samples < 1:
        raise ParameterError("n_excerpts and excerpt_samples must be positive")
    rng = np.random.default_rng(seed)
    pools: list[tuple[str, np.ndarray, list[int]]] = []
    for path in files:
        audio, sr = read_audio(path)
        mono = resample(audio.mean(axis=0), sr, sample_rate).astype(np.float64)
        file_rms = float(np.sqrt(np.mean(mono**2)))
        starts = [s for s in _excerpt_starts(mono.size, excerpt_samples, n_excerpts, rng)
                  if np.sqrt(np.mean(mono[s:s + excerpt_samples] ** 2)) > MIN_RELATIVE_RMS * file_rms]
        pools.append((path.stem, mono, starts))
    picked: list[tuple[str, np.ndarray, int]] = []
    while len(picked) < n_excerpts and any(starts for _, _, starts in pools):
        for stem, mono, starts in pools:
            if starts and len(picked) < n_excerpts:
                picked.append((stem, mono, starts.pop(0)))
    if len(picked) < n_excerpts:
        raise ParameterError(
            f"the clean material holds only {len(picked)} non-silent excerpts of "
            f"{excerpt_samples / sample_rate:.2f} s, {n_excerpts} asked: add files or shorten excerpts"
        )
    excerpts = []
    for stem, mono, start in picked:
        clean = mono[start:start + excerpt_samples]
        clean = clean * (CLEAN_PEAK / float(np.max(np.abs(clean))))
        result = degrade(clean, sample_rate, random_params(rng), rng)
        excerpts.append(Excerpt(
            name=f"{stem}@{start / sample_rate:.2f}s", clean=clean, degraded=result.audio,
            sample_rate=sample_rate, response_freqs_hz=result.response.freqs_hz,
            response_db=result.response.gain_db, params=result.params,
        ))
    return excerpts
