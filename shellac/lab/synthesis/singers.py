"""Seeded singers and sung lines: the ranges, voices and note drawing of the voice training data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shellac.lab.synthesis.formants import VOWELS
from shellac.lab.synthesis.singing import SungNote, Voice

VOICE_RANGES = {"tenor": (48, 69), "soprano": (60, 84)}
"""MIDI ranges (C3–A4, C4–C6) the singers' lines are put in."""

SINGER_DRAWS = {
    "vibrato_rate_hz": (5.0, 6.0),
    "vibrato_cents": (30.0, 60.0),
    "breath": (0.01, 0.06),
    "jitter": (0.002, 0.008),
    "shimmer": (0.02, 0.06),
}
"""Uniform ranges of the drawn :class:`Voice` fields, in the order they are drawn."""


def random_singer(voice: str, rng: np.random.Generator) -> Voice:
    """A singer of ``voice`` ("soprano": female formants with formant tuning; else male), fields
    drawn uniformly from SINGER_DRAWS in that order (five ``rng.uniform`` calls)."""
    drawn = {name: float(rng.uniform(lo, hi)) for name, (lo, hi) in SINGER_DRAWS.items()}
    return Voice(formant_set="female" if voice == "soprano" else "male", formant_tuning=voice == "soprano",
                 **drawn)


def sung_notes(spans: Sequence[tuple[float, float, float]], rng: np.random.Generator) -> list[SungNote]:
    """Sung notes for ``(begin s, end s, MIDI pitch)`` spans, drawn in this order: a first vowel,
    then per note a vowel change (probability 0.4) and a velocity N(0.75, 0.1) clipped to 0.3–1;
    each note lasts at least 80 ms."""
    vowel = str(rng.choice(VOWELS))
    notes = []
    for begin, end, pitch in spans:
        if rng.random() < 0.4:
            vowel = str(rng.choice(VOWELS))
        velocity = float(np.clip(rng.normal(0.75, 0.1), 0.3, 1.0))
        notes.append(SungNote(begin, max(end - begin, 0.08), pitch, vowel, velocity))
    return notes
