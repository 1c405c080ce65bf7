"""Held-out voice: one line of a held-out work sung by shellac.lab.synthesis, as a tenor or a soprano."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shellac.engine.errors import ParameterError
from shellac.lab.heldout.material import (
    CLEAN_PEAK,
    MIN_RMS,
    cached_excerpt,
    score_parts,
    spec_key,
    store_excerpt,
)
from shellac.lab.synthesis import SungNote, render_melody
from shellac.lab.synthesis.singers import VOICE_RANGES, random_singer, sung_notes

Line = list[tuple[float, float, int]]  # (offset, length, MIDI pitch) of a part's notes, quarter notes
VOICES = ("tenor", "soprano")
SING_VERSION = 2  # bump when the singing changes, so cached renders are not reused
MIN_NOTES = 4  # a window with fewer notes is drawn again
MIN_SUNG = 0.75  # ... and one whose notes sing less than this share of the excerpt
RELEASE_S = 0.3  # the last note ends this long before the excerpt does, so its release fits


@dataclass(frozen=True)
class SungSpec:
    """What decides one sung excerpt (its cache key)."""

    score: str
    voice: str
    sample_rate: int
    seconds: float
    seed: int

    def key(self) -> str:
        """Short hash naming the cached render."""
        return spec_key(self.__dict__, SING_VERSION)


def voice_for(index: int) -> str:
    """Excerpt ``index``'s singer: tenor, soprano, tenor, ..."""
    return VOICES[index % len(VOICES)]


def fit_range(pitches: list[int], voice: str) -> list[int]:
    """``pitches`` moved by whole octaves into ``voice``'s range.

    The line moves by the octave that leaves most notes in range (the smallest
    move on a tie); a note still outside then moves by octaves of its own, as a
    singer takes a note the line's compass does not allow.
    """
    lo, hi = VOICE_RANGES[voice]
    shift = max(range(-36, 37, 12), key=lambda s: (sum(lo <= p + s <= hi for p in pitches), -abs(s)))
    fitted = []
    for p in pitches:
        q = p + shift
        q += 12 * max(0, -((q - lo) // 12))  # up by whole octaves until >= lo
        q -= 12 * max(0, -((hi - q) // 12))  # down by whole octaves until <= hi
        fitted.append(q)
    return fitted


def _window(line: Line, start_ql: float, sec_per_ql: float, seconds: float) -> tuple[Line, float]:
    """The line's notes that start within the excerpt, and the share of it (0–1) they sing."""
    span = seconds - RELEASE_S
    window = [n for n in line if 0.0 <= (n[0] - start_ql) * sec_per_ql < span]
    sung = sum(min((off + length - start_ql) * sec_per_ql, span) - (off - start_ql) * sec_per_ql
               for off, length, _ in window)
    return window, min(sung / span, 1.0)


def sung_line(spec: SungSpec, rng: np.random.Generator) -> list[SungNote]:
    """Notes of a seeded part from a seeded note on, timed at a seeded tempo, in the singer's range.

    Up to eight (part, first note) draws until the window holds MIN_NOTES
    notes singing MIN_SUNG of the excerpt (a line's rests would otherwise
    leave much of it silent); otherwise the best window drawn. Tempo: a
    half-note tactus at 50–90 per minute (madrigals are written in half notes;
    the voice prior's chorales were sung at 50–100 quarters).
    """
    parts, length_ql = score_parts(spec.score)
    voiced = [notes for notes in parts if notes]
    if not voiced:
        raise ParameterError(f"{spec.score} has no notes to sing")
    if spec.seconds <= RELEASE_S:
        raise ParameterError(f"a sung excerpt needs more than {RELEASE_S} s, not {spec.seconds}")
    best: tuple[tuple[bool, float], Line, float, float] = ((False, -1.0), [], 0.0, 1.0)
    for _ in range(8):
        line = voiced[int(rng.integers(len(voiced)))]
        onsets = [off for off, _, _ in line if off <= length_ql - 16.0] or [line[0][0]]
        start_ql = onsets[int(rng.integers(len(onsets)))]
        sec_per_ql = 60.0 / float(rng.uniform(100.0, 180.0))
        window, sung = _window(line, start_ql, sec_per_ql, spec.seconds)
        quality = (len(window) >= MIN_NOTES, sung)
        if quality > best[0]:
            best = (quality, window, start_ql, sec_per_ql)
        if quality >= (True, MIN_SUNG):
            break
    _, window, start_ql, sec_per_ql = best
    pitches = fit_range([pitch for _, _, pitch in window], spec.voice)
    spans = [((off - start_ql) * sec_per_ql,
              min((off + length - start_ql) * sec_per_ql, spec.seconds - RELEASE_S), float(pitch))
             for (off, length, _), pitch in zip(window, pitches, strict=True)]
    return sung_notes(spans, rng)


def sing_excerpt(spec: SungSpec, cache: Path) -> np.ndarray:
    """The clean mono sung excerpt of ``spec`` (float64 at ``spec.sample_rate`` Hz, peak CLEAN_PEAK), cached.

    Drawn again (up to eight times) while it is mostly silence.
    """
    if spec.voice not in VOICE_RANGES:
        raise ParameterError(f"voice must be one of {', '.join(VOICES)}, not {spec.voice!r}")
    target = Path(cache) / f"{spec.key()}.wav"
    stored = cached_excerpt(target)
    if stored is not None:
        return stored
    rng = np.random.default_rng(spec.seed)
    n = int(round(spec.seconds * spec.sample_rate))
    for _ in range(8):
        notes = sung_line(spec, rng)
        audio = render_melody(
            notes, random_singer(spec.voice, rng), sample_rate=spec.sample_rate,
            seed=int(rng.integers(2**31)), tail_s=0.0,
        )
        excerpt = np.zeros(n)
        excerpt[: min(n, audio.size)] = audio[:n]
        excerpt *= CLEAN_PEAK / max(float(np.max(np.abs(excerpt))), 1e-12)
        if float(np.sqrt(np.mean(excerpt**2))) >= MIN_RMS:
            break
    return store_excerpt(excerpt, spec.sample_rate, target)
