"""Experiment record (session 27): where the chain EQ's LTAS error lies, per font (session 26's chain cache).

Not shipped code. As floor_regions.py, for the cached piano-ltas chain runs (the chain EQ alone) of
validation excerpts FIRST..N-1 in one font: the denoised input, the chain EQ's output and LTAS-EQ's, each
excerpt's signed error per region around the true cut-offs, then the means.

Usage (from the repository root, PYTHONPATH=docs/benchmarks/session20:.):
    python chain_regions.py CACHE FONT FIRST N        (FONT: - for the held-out one)
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from harness import chain_cases

from shellac.lab.evaluation.metrics import interp_log_freq, log_grid, pass_band
from shellac.lab.evaluation.spectral_balance import BALANCE_N_FFT, smoothed_ltas_db
from shellac.lab.heldout.runner import ChainRun

REGIONS = ("below hp", "hp..2hp", "2hp..lp/2", "lp/2..lp", "above lp")
cache, font, first, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ltas_key = ChainRun("piano-ltas", {}).key()
chain_key = ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}).key()
mass: dict[str, np.ndarray] = {}
signed: dict[str, list[np.ndarray]] = {}
for c in chain_cases(cache, font, first, n):
    e, p = c.excerpt, c.excerpt.params
    sr, size = e.sample_rate, e.clean.size

    def mono(folder: str, size: int = size, e: object = e) -> np.ndarray:
        x, _ = sf.read(sorted((e.master.parent / folder).glob("0*-ltas_eq/audio.wav"))[0], dtype="float64")
        return (x if x.ndim == 1 else x.mean(axis=1))[:size]

    rows = {"denoised": c.denoised, "chain": mono(chain_key), "ltas_eq": mono(ltas_key)}
    grid = log_grid(sr / 2.0)
    freqs = np.fft.rfftfreq(BALANCE_N_FFT, d=1.0 / sr)
    band = pass_band(grid, interp_log_freq(grid, e.response_freqs_hz, e.response_db), sr / 2.0)
    g = grid[band]
    region = np.select([g < p.highpass_hz, g < 2 * p.highpass_hz, g < p.lowpass_hz / 2, g < p.lowpass_hz],
                       [0, 1, 2, 3], 4)
    line = [e.name[:20]]
    for name, y in rows.items():
        diff = interp_log_freq(grid, freqs, smoothed_ltas_db(y, sr) - smoothed_ltas_db(e.clean, sr))[band]
        d = diff - diff.mean()
        per = np.array([d[region == r].mean() if (region == r).any() else np.nan for r in range(5)])
        mass[name] = mass.get(name, 0) + np.array([np.sum(d[region == r] ** 2) / d.size for r in range(5)])
        signed.setdefault(name, []).append(per)
        line.append(f"{name} {np.sqrt(np.mean(d ** 2)):.2f} [" + " ".join(f"{v:+.1f}" for v in per) + "]")
    print("  ".join(line), flush=True)
k = len(signed["chain"])
print(f"\nmean square by region (dB^2), {k} excerpts; then mean signed difference (dB)")
print(f"{'row':10s}" + "".join(f"{r:>12s}" for r in REGIONS) + f"{'total':>8s}")
for name in mass:
    print(f"{name:10s}" + "".join(f"{m / k:12.2f}" for m in mass[name]) + f"{mass[name].sum() / k:8.2f}")
    print(f"{'  signed':10s}" + "".join(f"{v:12.2f}" for v in np.nanmean(np.array(signed[name]), axis=0)))
