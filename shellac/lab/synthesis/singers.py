"""Seeded singers: the vibrato, breath, jitter and shimmer ranges of the voice training data's singers."""

from __future__ import annotations

import numpy as np

from shellac.lab.synthesis.singing import Voice

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
