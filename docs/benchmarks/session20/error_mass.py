"""Experiment record (session 20): where in frequency the pass-band LTAS error of each row lies.

Not shipped code. For validation excerpts 0..N-1 of the cached `piano` and `piano-ltas` runs, the
benchmark's LTAS-error curve (third-octave LTAS difference from the clean render on 256 log points,
pass band only, mean removed: `ltas_error_db`'s own quantities) is cut into regions relative to the
true chain's cut-offs; per region it prints the share of the squared error (what the region adds
to the mean square) and the mean signed difference (dB; + means too loud relative to the rest).
The cache must hold the runs, as left by

    shellac bench-heldout --part validation --excerpts N --rows input,ltas_eq,eq_step,babe2,babe2_gated

Usage (from the repository root): python error_mass.py CACHE N [--partial]
(--partial: score whatever rows an excerpt has so far)
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.lab.evaluation.metrics import interp_log_freq, log_grid, pass_band
from shellac.lab.evaluation.spectral_balance import BALANCE_N_FFT, ltas_error_db, smoothed_ltas_db
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import RECORDING_ID, ChainRun, prepare_excerpts

REGIONS = ("below hp", "hp..2hp", "2hp..lp/2", "lp/2..lp", "above lp")
cache, n = Path(sys.argv[1]), int(sys.argv[2])
piano = ChainRun("piano", {}).key()
ltas_key = ChainRun("piano-ltas", {}).key()
part = load_heldout("validation", kind="piano")
totals: dict[str, np.ndarray] = {}
signed: dict[str, list[list[float]]] = {}
PARTIAL = len(sys.argv) > 3 and sys.argv[3] == "--partial"
counts: dict[str, int] = {}
for e in prepare_excerpts(part, n, 5.5, 22050, 0, cache, log=lambda s: None):
    sr, size, p = e.sample_rate, e.clean.size, e.params

    def mono(path: Path) -> np.ndarray:
        x, _ = sf.read(path, dtype="float64")
        return (x if x.ndim == 1 else x.mean(axis=1))[:size]

    paths = {"ltas_eq": e.master.parent / ltas_key / "02-ltas_eq" / "audio.wav",
             "eq_step": e.master.parent / piano / "02-ltas_eq" / "audio.wav",
             "access": e.master.parent / piano / f"{RECORDING_ID}.flac"}
    if not all(path.exists() for path in paths.values()) and not PARTIAL:
        print(e.name, "not restored yet: skipped", flush=True)
        continue
    rows = {"input": e.degraded[:size], **{k: mono(v) for k, v in paths.items() if v.exists()}}
    grid = log_grid(sr / 2.0)
    freqs = np.fft.rfftfreq(BALANCE_N_FFT, d=1.0 / sr)
    band = pass_band(grid, interp_log_freq(grid, e.response_freqs_hz, e.response_db), sr / 2.0)
    g = grid[band]
    region = np.select([g < p.highpass_hz, g < 2 * p.highpass_hz, g < p.lowpass_hz / 2, g < p.lowpass_hz],
                       [0, 1, 2, 3], 4)
    line = [e.name]
    for name, y in rows.items():
        diff = interp_log_freq(grid, freqs, smoothed_ltas_db(y, sr) - smoothed_ltas_db(e.clean, sr))[band]
        d = diff - diff.mean()
        err = float(np.sqrt(np.mean(d**2)))
        assert abs(err - ltas_error_db(e.clean, y, sr, e.response_freqs_hz, e.response_db)) < 1e-9
        mass = np.array([np.sum(d[region == r] ** 2) / d.size for r in range(5)])
        totals[name] = totals.get(name, 0) + mass
        counts[name] = counts.get(name, 0) + 1
        signed.setdefault(name, []).append([float(d[region == r].mean()) if (region == r).any() else np.nan
                                            for r in range(5)])
        line.append(f"{name} {err:.2f}")
    print("  ".join(line), flush=True)
print("\nmean square error by region (dB^2 per excerpt; sum = mean of LTAS error^2)")
print(f"{'row':10s}" + "".join(f"{r:>12s}" for r in REGIONS) + f"{'total':>9s}{'n':>4s}")
for name, mass in totals.items():
    k = counts[name]
    print(f"{name:10s}" + "".join(f"{m / k:12.2f}" for m in mass) + f"{mass.sum() / k:9.2f}{k:4d}")
print("\nmean signed difference by region (dB, mean over excerpts having the region)")
for name, values in signed.items():
    print(f"{name:10s}" + "".join(f"{v:12.2f}" for v in np.nanmean(np.array(values), axis=0)))
