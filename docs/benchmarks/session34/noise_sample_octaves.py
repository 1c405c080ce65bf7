"""Experiment record (session 34): the gate's noise sample against the true hiss, per octave, on sung lines.

Not shipped code. For each excerpt the degradation is drawn again from its seeds (the same call as
`prepare_excerpts`), so its additive noise is known; the hiss level per rFFT bin is that noise's median frame
power over ln 2 (the median of a chi-squared power of two degrees of freedom; a click moves a median little).
Printed per octave from 50 Hz: the level of the `quietest` sample (the shipped profile's) and of the
`minimum` sample (shellac.engine.dsp.noise_floor) over the hiss, dB; then the means over the excerpts.

Usage (PYTHONPATH=.): python noise_sample_octaves.py FIRST END CACHE
"""
import sys
from pathlib import Path

import numpy as np

from shellac.engine.dsp.denoise import noise_sample_from_file
from shellac.engine.dsp.noise_floor import _frame_power
from shellac.lab.degradation import degrade
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import prepare_excerpts

SR, N_FFT = 22050, 4096
EDGES = (50, 100, 200, 400, 800, 1600, 3200, 6400, 11025)


def octaves(power: np.ndarray) -> np.ndarray:
    """Mean power per octave of EDGES, dB."""
    f = np.fft.rfftfreq(N_FFT, 1 / SR)
    return np.array([10 * np.log10(power[(f >= a) & (f < b)].mean())
                     for a, b in zip(EDGES[:-1], EDGES[1:], strict=True)])


def main() -> None:
    first, end, cache = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    excerpts = prepare_excerpts(load_heldout("validation", kind="voice"), end, 5.5, SR, 0, cache, first=first,
                                log=lambda s: None)
    print("octaves from " + " ".join(str(e) for e in EDGES[:-1]) + " Hz; noise sample over the true hiss, dB")
    rows: dict[str, list[np.ndarray]] = {"quietest": [], "minimum": []}
    for i, e in enumerate(excerpts, start=first):
        noise = degrade(e.clean, SR, e.params, np.random.default_rng([0, i, 7, 2])).noise
        hiss = octaves(np.median(_frame_power(noise, N_FFT), axis=-1) / np.log(2))
        print(f"{e.name[:34]:34s} hiss {e.params.hiss_snr_db} dB")
        for profile, row in rows.items():
            sample = noise_sample_from_file(e.master, profile=profile, n_fft=N_FFT)  # type: ignore[arg-type]
            assert sample is not None
            row.append(octaves(_frame_power(sample.astype(np.float64), N_FFT).mean(axis=-1)) - hiss)
            print(f"   {profile:9s}" + " ".join(f"{v:+6.1f}" for v in row[-1]))
    for profile, row in rows.items():
        print(f"mean {profile:9s}" + " ".join(f"{v:+6.1f}" for v in np.mean(row, axis=0)))


if __name__ == "__main__":
    main()
