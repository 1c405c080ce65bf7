"""Experiment record (session 34): the gate's noise sample against the true hiss, per octave, on sung lines.

Not shipped code. For each excerpt the degradation is drawn again from its seeds (the same call as
`prepare_excerpts`), so its additive noise is known; the hiss level per rFFT bin is that noise's median frame
power over ln 2 (the median of a chi-squared power of two degrees of freedom; a click moves a median little).
Printed per octave from 50 Hz: the level of the `quietest` sample (the shipped profile's), of the `minimum`
sample (shellac.engine.dsp.noise_floor) and of the `minimum` sample slope-limited to 12, 6 and 3 dB per octave
(`noise_floor_slope_db`) over the hiss, dB; then the means over the excerpts.
With PLOT, the excerpt FIRST's third-octave-smoothed spectra (degraded input, true hiss, both samples) go to
that PNG.

Usage (PYTHONPATH=.): python noise_sample_octaves.py FIRST END CACHE [PLOT]
"""
import sys
from pathlib import Path

import numpy as np

from shellac.engine.dsp.denoise import noise_sample_from_file
from shellac.engine.dsp.ltas import third_octave_smooth
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


def plot(curves: dict[str, np.ndarray], title: str, path: Path) -> None:
    """Third-octave-smoothed power spectra, dB, on a log-frequency axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = np.fft.rfftfreq(N_FFT, 1 / SR)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, power in curves.items():
        ax.semilogx(f[1:], 10 * np.log10(third_octave_smooth(power, SR, N_FFT)[1:]), label=label)
    ax.set_xlim(50, SR / 2)
    ax.set_xlabel("Hz")
    ax.set_ylabel("dB (frame power, third-octave smoothed)")
    ax.set_title(f"{title[:28]}: noise samples against the true hiss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    first, end, cache = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    excerpts = prepare_excerpts(load_heldout("validation", kind="voice"), end, 5.5, SR, 0, cache, first=first,
                                log=lambda s: None)
    print("octaves from " + " ".join(str(e) for e in EDGES[:-1]) + " Hz; noise sample over the true hiss, dB")
    samples = {"quietest": ("quietest", None), "minimum": ("minimum", None), "min 12/oct": ("minimum", 12.0),
               "min 6/oct": ("minimum", 6.0), "min 3/oct": ("minimum", 3.0)}
    rows: dict[str, list[np.ndarray]] = {label: [] for label in samples}
    for i, e in enumerate(excerpts, start=first):
        noise = degrade(e.clean, SR, e.params, np.random.default_rng([0, i, 7, 2])).noise
        hiss_power = np.median(_frame_power(noise, N_FFT), axis=-1) / np.log(2)
        hiss = octaves(hiss_power)
        print(f"{e.name[:34]:34s} hiss {e.params.hiss_snr_db} dB")
        curves = {"degraded input": _frame_power(e.degraded, N_FFT).mean(axis=-1), "true hiss": hiss_power}
        for label, (profile, slope) in samples.items():
            sample = noise_sample_from_file(e.master, profile=profile, n_fft=N_FFT,  # type: ignore[arg-type]
                                            floor_slope_db=slope)
            assert sample is not None
            curves[f"{label} sample"] = _frame_power(sample.astype(np.float64), N_FFT).mean(axis=-1)
            rows[label].append(octaves(curves[f"{label} sample"]) - hiss)
            print(f"   {label:10s}" + " ".join(f"{v:+6.1f}" for v in rows[label][-1]))
        if i == first and len(sys.argv) > 4:
            plot(curves, e.name, Path(sys.argv[4]))
    for label, row in rows.items():
        print(f"mean {label:10s}" + " ".join(f"{v:+6.1f}" for v in np.mean(row, axis=0)))


if __name__ == "__main__":
    main()
