"""Vowel formant tables (F1–F5 centre frequencies and bandwidths) for male and female singers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

FormantSet = Literal["male", "female"]
VOWELS = ("a", "e", "i", "o", "u")


@dataclass(frozen=True)
class Formants:
    """Five formants of one vowel: centre frequencies and -3 dB bandwidths, Hz."""

    freqs_hz: tuple[float, float, float, float, float]
    bandwidths_hz: tuple[float, float, float, float, float]

    def as_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(freqs, bandwidths) as float64 arrays of 5."""
        return np.asarray(self.freqs_hz, dtype=np.float64), np.asarray(self.bandwidths_hz, dtype=np.float64)


# Classic sung-vowel measurements (tenor and soprano, as tabulated for formant synthesis,
# e.g. in the Csound manual's formant table). The tenor's close F3–F5 form the
# "singer's formant" cluster near 2.6–3.3 kHz.
FORMANTS: dict[FormantSet, dict[str, Formants]] = {
    "male": {
        "a": Formants((650, 1080, 2650, 2900, 3250), (80, 90, 120, 130, 140)),
        "e": Formants((400, 1700, 2600, 3200, 3580), (70, 80, 100, 120, 120)),
        "i": Formants((290, 1870, 2800, 3250, 3540), (40, 90, 100, 120, 120)),
        "o": Formants((400, 800, 2600, 2800, 3000), (40, 80, 100, 120, 120)),
        "u": Formants((350, 600, 2700, 2900, 3300), (40, 60, 100, 120, 120)),
    },
    "female": {
        "a": Formants((800, 1150, 2900, 3900, 4950), (80, 90, 120, 130, 140)),
        "e": Formants((350, 2000, 2800, 3600, 4950), (60, 100, 120, 150, 200)),
        "i": Formants((270, 2140, 2950, 3900, 4950), (60, 90, 100, 120, 120)),
        "o": Formants((450, 800, 2830, 3800, 4950), (70, 80, 100, 130, 135)),
        "u": Formants((325, 700, 2700, 3800, 4950), (50, 60, 170, 180, 200)),
    },
}


def vowel_formants(formant_set: FormantSet, vowel: str) -> Formants:
    """Formants of ``vowel`` (one of a, e, i, o, u) for a male or female singer.

    Raises
    ------
    KeyError
        Unknown formant set or vowel.
    """
    return FORMANTS[formant_set][vowel]
