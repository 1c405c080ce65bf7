"""Offline training material: a source-filter singing synthesiser, its vowel formant tables, random notes."""

from shellac.lab.synthesis.formants import FORMANTS, VOWELS, Formants, FormantSet, vowel_formants
from shellac.lab.synthesis.notes import random_notes
from shellac.lab.synthesis.singing import SungNote, Voice, midi_to_hz, render_melody

__all__ = [
    "FORMANTS",
    "VOWELS",
    "FormantSet",
    "Formants",
    "SungNote",
    "Voice",
    "midi_to_hz",
    "random_notes",
    "render_melody",
    "vowel_formants",
]
