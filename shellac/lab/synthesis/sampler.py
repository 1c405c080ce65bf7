"""A piano played from a folder of recorded per-note samples (e.g. Salamander Grand Piano), in numpy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shellac.engine.audio_io import read_audio
from shellac.engine.dsp.resample import resample
from shellac.engine.errors import ParameterError

_LAYER = re.compile(r"v\d+$")
SAMPLE_SUFFIXES = (".ogg", ".flac", ".wav")
UNDAMPED_PITCH = 89
"""A real piano has no dampers from about F6 up (MIDI 89): those strings ring on after the key is released."""


def note_pitch(stem: str) -> int:
    """MIDI pitch of a sample named like ``C4``, ``D#4v10`` or ``Bb2`` (C4 = 60; a velocity-layer suffix
    ``v<n>`` is ignored)."""
    from pretty_midi import note_name_to_number

    try:
        return int(note_name_to_number(_LAYER.sub("", stem)))
    except ValueError:
        raise ParameterError(f"sample name {stem!r} is not a note name such as C4 or D#4v10") from None


@dataclass(frozen=True)
class SampleNote:
    """One note to play: MIDI pitch, velocity 1–127, start and key-release times (s)."""

    pitch: int
    velocity: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class SamplePiano:
    """Mono per-note samples at one rate, keyed by MIDI pitch; notes between them are pitch-shifted.

    Parameters
    ----------
    samples:
        MIDI pitch → mono sample (float64) at ``sample_rate``.
    sample_rate:
        Hz.
    release_s:
        Time constant of the damper's decay after the key (and pedal) is released, s.
    """

    samples: dict[int, np.ndarray]
    sample_rate: int
    release_s: float = 0.12

    @classmethod
    def from_dir(cls, folder: Path, sample_rate: int) -> SamplePiano:
        """Load every ``<note>[v<layer>].<ogg|flac|wav>`` of ``folder`` at ``sample_rate``, as mono."""
        paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES)
        if not paths:
            raise ParameterError(f"no note samples (.ogg, .flac, .wav named like C4v10.ogg) in {folder}")
        samples = {}
        for path in paths:
            audio, rate = read_audio(path)
            mono = audio.mean(axis=0) if audio.ndim == 2 else audio
            samples[note_pitch(path.stem)] = np.asarray(resample(mono, rate, sample_rate), dtype=np.float64)
        return cls(samples, sample_rate)

    def _voice(self, pitch: int, length: int) -> np.ndarray:
        """``length`` samples of ``pitch``, resampled from the nearest recorded note."""
        keys = np.array(sorted(self.samples))
        source = int(keys[np.argmin(np.abs(keys - pitch))])
        ratio = 2.0 ** ((pitch - source) / 12.0)
        sample = self.samples[source]
        positions = np.arange(length) * ratio
        positions = positions[positions < sample.size - 1]
        return np.interp(positions, np.arange(sample.size), sample)

    def render(self, notes: list[SampleNote], seconds: float,
               pedal_down: list[tuple[float, float]] | None = None) -> np.ndarray:
        """Mono float64 of ``seconds``: every note from its start to its release, then damped.

        A note released while the sustain pedal is down (``pedal_down`` intervals, s) is damped
        when the pedal comes up; notes from ``UNDAMPED_PITCH`` up ring on. Velocity sets the
        level only (one recorded layer): amplitude ∝ (velocity / 127)².
        """
        sr = self.sample_rate
        n = int(round(seconds * sr))
        out = np.zeros(n)
        for note in notes:
            start = int(round(note.start_s * sr))
            if start >= n:
                continue
            release = note.end_s
            for down, up in pedal_down or []:
                if down <= release < up:
                    release = up
            voice = self._voice(note.pitch, n - start)
            if note.pitch < UNDAMPED_PITCH:
                t = np.arange(voice.size) / sr
                voice = voice * np.exp(-np.maximum(t - (release - note.start_s), 0.0) / self.release_s)
            out[start : start + voice.size] += (note.velocity / 127.0) ** 2 * voice
        return out
