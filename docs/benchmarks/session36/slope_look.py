"""Experiment record (session 36): how far the 6 dB/oct slope limit lowers the consistency step's noise floor,
and the share of each band's bins that then hold signal (H = 1).

Not shipped code. For every piano work folder of a bench-heldout cache, reads the EQ step's output (the
consistency step's observation) and its per-bin noise floor as the shipped step reads it and as
`consistency_noise_slope_db` reads it; prints per report band "lowered by (dB) / mean power over the
unlimited floor (dB) / share of bins holding signal, unlimited -> limited". No clean reference is used.

Usage: python slope_look.py CACHE DB_PER_OCTAVE [RUN_GLOB]   (RUN_GLOB: work folders, default "piano-*")
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.restoration.consistency import (
    N_FFT,
    _above_noise,
    _slope_limited,
    _statistics,
    bin_frequencies,
)

EDGES_HZ = (0.0, 250.0, 1000.0, 4000.0, 8000.0, np.inf)


def main() -> None:
    cache, slope = Path(sys.argv[1]), float(sys.argv[2])
    print(f"n_fft {N_FFT}; bands {EDGES_HZ[:-1]} Hz")
    runs = sys.argv[3] if len(sys.argv) > 3 else "piano-*"
    for folder in sorted(cache.glob(f"excerpts/*/{runs}/")):
        eq = folder / "02-ltas_eq" / "audio.wav"
        if not eq.is_file():
            continue
        y, sr = sf.read(eq, dtype="float64", always_2d=True)
        stats = _statistics(y.mean(axis=1), None)
        limited = _slope_limited(stats, sr, slope)
        freqs = bin_frequencies(sr)
        cells = []
        for low, high in zip(EDGES_HZ[:-1], EDGES_HZ[1:], strict=True):
            sel = (freqs >= low) & (freqs < high)
            lowered = 10 * np.log10(stats.noise[sel].mean() / limited.noise[sel].mean())
            over = 10 * np.log10(stats.observed_power[sel].mean() / stats.noise[sel].mean())
            held = _above_noise(stats)[sel].mean(), _above_noise(limited)[sel].mean()
            cells.append(f"{lowered:5.1f}/{over:4.1f}/{held[0]:.2f}->{held[1]:.2f}")
        print(f"{folder.parent.name[:24]:24s} {folder.name[:12]:12s} {'  '.join(cells)}")


if __name__ == "__main__":
    main()
