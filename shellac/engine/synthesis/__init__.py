"""Offline training material: a source-filter singing synthesiser and its vowel formant tables."""

from shellac.engine.synthesis.formants import FORMANTS, VOWELS, Formants, FormantSet, vowel_formants
from shellac.engine.synthesis.singing import SungNote, Voice, midi_to_hz, render_melody

__all__ = [
    "FORMANTS",
    "VOWELS",
    "FormantSet",
    "Formants",
    "SungNote",
    "Voice",
    "midi_to_hz",
    "render_melody",
    "vowel_formants",
]
