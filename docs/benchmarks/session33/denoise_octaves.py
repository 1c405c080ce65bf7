"""Experiment record (session 33): where the voice denoise step moves the balance against clean, per octave.

Not shipped code, no sampling. Reads the `voice-ltas` runs `register_oracle.py` left in CACHE (the voice
profile's denoise step). Per excerpt: the third-octave LTAS of the untouched input and of the denoised
input minus the clean render's, levelled over the pass band (as `ltas_error_db` is), averaged per octave
from 50 Hz; the RMS over the pass band is the LTAS error. Then the mean per octave over the excerpts,
sopranos and tenors apart.

Usage (PYTHONPATH=.:docs/benchmarks/session33): python denoise_octaves.py FIRST END CACHE
"""
import sys
from pathlib import Path

import numpy as np
from register_oracle import EQ, SR, denoised

from shellac.lab.evaluation.metrics import interp_log_freq, log_grid, pass_band
from shellac.lab.evaluation.spectral_balance import smoothed_ltas_db
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts

EDGES = (50, 100, 200, 400, 800, 1600, 3200, 6400, 11025)


def main() -> None:
    first, end, cache = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    excerpts = prepare_excerpts(load_heldout("validation", kind="voice"), end, 5.5, SR, 0, cache, first=first,
                                log=lambda s: None)
    grid, freqs = log_grid(SR / 2.0, 256), np.fft.rfftfreq(2048, 1 / SR)
    run = ChainRun("voice-ltas", {"ltas_eq": {**EQ, "strength": 0.5}})
    sums: dict[tuple[str, str], list[np.ndarray]] = {}
    print("octaves from " + " ".join(f"{lo}" for lo in EDGES[:-1]) + " Hz; dB against clean, levelled")
    for e in excerpts:
        clean = smoothed_ltas_db(e.clean, SR)
        band = pass_band(grid, interp_log_freq(grid, e.response_freqs_hz, e.response_db), SR / 2.0)
        print(f"{e.name[:34]} pass band {grid[band].min():.0f}-{grid[band].max():.0f} Hz, hiss "
              f"{e.params.hiss_snr_db} dB")
        for label, signal in (("input", e.degraded[: e.clean.size]), ("denoise", denoised(e, run))):
            d = interp_log_freq(grid, freqs, smoothed_ltas_db(signal, SR) - clean)
            d = d - d[band].mean()
            octaves = np.array([d[m].mean() if (m := band & (grid >= lo) & (grid < hi)).any() else np.nan
                                for lo, hi in zip(EDGES[:-1], EDGES[1:], strict=True)])
            sums.setdefault((e.voice, label), []).append(octaves)
            print(f"   {label:8s} error {np.sqrt(np.mean(d[band] ** 2)):5.2f} | "
                  + " ".join("     ." if np.isnan(v) else f"{v:+6.1f}" for v in octaves))
    for (voice, label), rows in sorted(sums.items()):
        mean = np.nanmean(np.array(rows), axis=0)
        cells = " ".join("     ." if np.isnan(v) else f"{v:+6.1f}" for v in mean)
        print(f"mean {voice:7s} {label:8s} | {cells}")


if __name__ == "__main__":
    main()
