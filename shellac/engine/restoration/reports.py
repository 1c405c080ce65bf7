"""What curators see of a generative restoration: the bands the model synthesised rather than restored."""

from __future__ import annotations

import numpy as np

from shellac.engine.dsp.ltas import Ltas, third_octave_smooth

# Output/input LTAS difference (dB) above which a band counts as synthesised, for curators.
GENERATED_BAND_DB = 6.0


def generated_bands(before: Ltas, after: Ltas, *, min_hz: float = 100.0) -> list[list[float]]:
    """Frequency bands (Hz) where the output's third-octave LTAS exceeds the input's by GENERATED_BAND_DB.

    That is what the model synthesised rather than restored; curators see it in
    the report and the provenance.
    """
    smooth_in = third_octave_smooth(before.power, before.sample_rate, before.n_fft)
    smooth_out = third_octave_smooth(after.power, after.sample_rate, after.n_fft)
    delta = 10.0 * np.log10((smooth_out + 1e-20) / (smooth_in + 1e-20))
    freqs = before.freqs_hz
    above = (delta > GENERATED_BAND_DB) & (freqs >= min_hz)
    bands: list[list[float]] = []
    start = None
    for k, flag in enumerate(above):
        if flag and start is None:
            start = k
        if (not flag or k == above.size - 1) and start is not None:
            stop = k if flag else k - 1
            bands.append([round(float(freqs[start]), 1), round(float(freqs[stop]), 1)])
            start = None
    return bands
