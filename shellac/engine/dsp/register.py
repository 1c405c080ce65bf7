"""A reference LTAS matched to a line's register: clean singing's spectra per semitone, mixed by its pitches.

One long-term spectrum of a singer lays that singer's average register over every recording: a line
sung lower than the average reads as a chain that cut the treble. The pitches a line sings survive the
recording chain (its period does, even where the high-pass took the fundamental away), so the
reference can be the clean singing's spectrum *at those pitches*: the mean frame spectrum of clean
material per semitone, weighted by how long the recording dwells on each, plus its unvoiced frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shellac.engine.audio_io import read_audio
from shellac.engine.dsp.ltas import Ltas, frame_spectra
from shellac.engine.dsp.pitch import PitchSettings, PitchTrack, track_pitch
from shellac.engine.dsp.resample import resample
from shellac.engine.errors import ParameterError

MIN_FRAMES = 8
"""A semitone needs this many clean frames to get a row of its own (rarer ones borrow the nearest row)."""

VOICED_SHARE = 0.5
"""An analysis frame is voiced when at least this share of the pitch frames inside its central half are."""


@dataclass(frozen=True)
class RegisterTable:
    """Mean frame power of clean, unit-std material per semitone of f0, and of its unvoiced frames.

    ``power`` is (semitones, n_fft/2 + 1) in the LTAS convention of
    :func:`~shellac.engine.dsp.ltas.compute_ltas` (Hann window n_fft/2, hop n_fft/4); ``midi`` names
    each row's semitone and ``frames`` how many analysis frames it averages.
    """

    sample_rate: int
    n_fft: int
    midi: np.ndarray
    power: np.ndarray
    frames: np.ndarray
    unvoiced_power: np.ndarray
    unvoiced_frames: int

    def __post_init__(self) -> None:
        bins = self.n_fft // 2 + 1
        if self.midi.ndim != 1 or self.midi.size == 0:
            raise ParameterError("a register table needs at least one semitone row")
        if self.power.shape != (self.midi.size, bins) or self.frames.shape != self.midi.shape:
            raise ParameterError(f"register table rows {self.power.shape} / {self.frames.shape} do not match "
                                 f"{self.midi.size} semitones of {bins} bins")
        if self.unvoiced_power.shape != (bins,):
            raise ParameterError(f"register table's unvoiced spectrum has {self.unvoiced_power.shape} bins, "
                                 f"expected {bins}")

    def row_for(self, midi: np.ndarray) -> np.ndarray:
        """Index of the row holding each semitone (the nearest row for one the table lacks)."""
        return np.abs(self.midi[None, :] - np.asarray(midi)[:, None]).argmin(axis=1)

    def to_json_dict(self) -> dict[str, object]:
        """JSON-ready dict (a model bundle's ``register.json``; powers to 6 significant digits)."""
        return {
            "sample_rate": int(self.sample_rate),
            "n_fft": int(self.n_fft),
            "midi": [int(m) for m in self.midi],
            "frames": [int(f) for f in self.frames],
            "power": [[_six(v) for v in row] for row in self.power],
            "unvoiced_frames": int(self.unvoiced_frames),
            "unvoiced_power": [_six(v) for v in self.unvoiced_power],
        }

    @classmethod
    def from_json_dict(cls, data: dict[str, object]) -> RegisterTable:
        """Build from :meth:`to_json_dict` output."""
        try:
            return cls(
                sample_rate=int(data["sample_rate"]),  # type: ignore[arg-type]
                n_fft=int(data["n_fft"]),  # type: ignore[arg-type]
                midi=np.asarray(data["midi"], dtype=np.int64),
                power=np.asarray(data["power"], dtype=np.float64),
                frames=np.asarray(data["frames"], dtype=np.int64),
                unvoiced_power=np.asarray(data["unvoiced_power"], dtype=np.float64),
                unvoiced_frames=int(data["unvoiced_frames"]),  # type: ignore[arg-type]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ParameterError(f"malformed register table: {exc}") from exc


def _six(value: float) -> float:
    return float(f"{value:.6g}")


def _frames(audio: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    """Frame power spectra [bins, frames] of unit-std ``audio`` in the LTAS convention."""
    std = float(np.std(audio))
    if not std > 0:
        raise ParameterError("audio is silent: no spectrum to estimate")
    return frame_spectra(audio / std, sample_rate, n_fft)


def frame_semitones(track: PitchTrack, n_frames: int, sample_rate: int, n_fft: int) -> np.ndarray:
    """The semitone (MIDI, rounded) each analysis frame sings: the median pitch inside its central half.

    NaN for a frame less than VOICED_SHARE voiced there.
    """
    hop, win = n_fft // 4, n_fft // 2
    centres = (np.arange(n_frames) * hop + win / 2.0) / sample_rate
    half = win / 4.0 / sample_rate
    midi = track.midi()
    out = np.full(n_frames, np.nan)
    lo = np.searchsorted(track.times_s, centres - half)
    hi = np.searchsorted(track.times_s, centres + half)
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        inside = midi[a:b]
        voiced = inside[np.isfinite(inside)]
        if inside.size and voiced.size >= VOICED_SHARE * inside.size:
            out[i] = np.round(np.median(voiced))
    return out


def build_register_table(clips: Iterable[np.ndarray], sample_rate: int, n_fft: int,
                         settings: PitchSettings | None = None) -> RegisterTable:
    """The register table of clean mono ``clips`` (each scaled to unit std, as an LTAS is)."""
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    unvoiced = np.zeros(n_fft // 2 + 1)
    n_unvoiced = 0
    for clip in clips:
        x = np.asarray(clip, dtype=np.float64)
        power = _frames(x, sample_rate, n_fft)
        semis = frame_semitones(track_pitch(x, sample_rate, settings), power.shape[1], sample_rate, n_fft)
        for m in np.unique(semis[np.isfinite(semis)]).astype(int):
            sel = semis == m
            sums[m] = sums.get(m, 0.0) + power[:, sel].sum(axis=1)
            counts[m] = counts.get(m, 0) + int(sel.sum())
        sel = ~np.isfinite(semis)
        unvoiced += power[:, sel].sum(axis=1)
        n_unvoiced += int(sel.sum())
    rows = sorted(m for m, c in counts.items() if c >= MIN_FRAMES)
    if not rows or n_unvoiced == 0:
        raise ParameterError(f"the clips hold no semitone sung for {MIN_FRAMES} frames, or no unvoiced "
                             "frame: no register table")
    return RegisterTable(
        sample_rate=int(sample_rate), n_fft=int(n_fft), midi=np.array(rows, dtype=np.int64),
        power=np.array([sums[m] / counts[m] for m in rows]),
        frames=np.array([counts[m] for m in rows], dtype=np.int64),
        unvoiced_power=unvoiced / n_unvoiced, unvoiced_frames=n_unvoiced,
    )


def register_reference(table: RegisterTable, audio: np.ndarray, sample_rate: int,
                       settings: PitchSettings | None = None) -> tuple[Ltas, dict[str, float]]:
    """The reference LTAS for mono ``audio``: the table's rows mixed by how long it sings each semitone.

    Unvoiced frames take the table's unvoiced spectrum. Returns the LTAS (at the table's rate and
    n_fft) and a summary of the line found: voiced share, median and 10th/90th percentile semitone.
    """
    if sample_rate != table.sample_rate:
        raise ParameterError(f"register table is at {table.sample_rate} Hz, the audio at {sample_rate} Hz")
    x = np.asarray(audio, dtype=np.float64)
    n_frames = 1 + (x.size - table.n_fft // 2) // (table.n_fft // 4)
    if n_frames < 1:
        raise ParameterError(f"audio of {x.size} samples is shorter than one analysis window")
    semis = frame_semitones(track_pitch(x, sample_rate, settings), n_frames, sample_rate, table.n_fft)
    voiced = semis[np.isfinite(semis)]
    if voiced.size == 0:
        raise ParameterError("no sung pitch found: the register reference needs a voiced line")
    rows, per_row = np.unique(table.row_for(voiced), return_counts=True)
    n_unvoiced = n_frames - voiced.size
    power = (per_row @ table.power[rows] + n_unvoiced * table.unvoiced_power) / n_frames
    summary = {"voiced_share": round(voiced.size / n_frames, 3), "median_midi": float(np.median(voiced)),
               "p10_midi": float(np.percentile(voiced, 10)), "p90_midi": float(np.percentile(voiced, 90))}
    return Ltas(sample_rate=table.sample_rate, n_fft=table.n_fft, power=power), summary


def register_reference_of_file(table: RegisterTable, path: Path) -> tuple[Ltas, dict[str, float]]:
    """:func:`register_reference` of an audio file (channels mixed to mono, resampled to the table's rate)."""
    audio, sr = read_audio(Path(path))
    mono = resample(np.asarray(audio, dtype=np.float64), sr, table.sample_rate).mean(axis=0)
    return register_reference(table, mono, table.sample_rate)
