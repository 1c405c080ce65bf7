"""Experiment record (session 27): where the access copies' LTAS error lies, shipped and candidates.

Not shipped code. For validation excerpts FIRST..N-1 of CACHE, the benchmark's LTAS-error curve (pass band,
mean removed; `ltas_error_db`'s own quantities) of the piano EQ step and of the access copy of the shipped
run and of each candidate (--set items, one candidate per argument, items joined by commas), cut into
regions around the true chain's cut-offs: mean squared error per region (dB^2) and mean signed error.

Usage (from the repository root):
    python floor_regions.py CACHE FIRST N "generative_eq.consistency_floor_db=10" ...
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.lab.evaluation.metrics import interp_log_freq, log_grid, pass_band
from shellac.lab.evaluation.spectral_balance import BALANCE_N_FFT, smoothed_ltas_db
from shellac.lab.heldout.bench import with_overrides
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import RECORDING_ID, ChainRun, prepare_excerpts
from shellac.stages.profiles import parse_sets

REGIONS = ("below hp", "hp..2hp", "2hp..lp/2", "lp/2..lp", "above lp")
cache, first, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
shipped = ChainRun("piano").key()
runs = {"shipped": shipped}
for spec in sys.argv[4:]:
    runs[spec.split(".")[-1]] = with_overrides(ChainRun("piano"), parse_sets(spec.split(","))).key()
part = load_heldout("validation", kind="piano")
mass: dict[str, np.ndarray] = {}
signed: dict[str, list[np.ndarray]] = {}
for e in prepare_excerpts(part, n, 5.5, 22050, 0, cache, log=lambda s: None)[first:]:
    sr, size, p = e.sample_rate, e.clean.size, e.params

    def mono(path: Path, size: int = size) -> np.ndarray:
        x, _ = sf.read(path, dtype="float64")
        return (x if x.ndim == 1 else x.mean(axis=1))[:size]

    rows = {"eq_step": mono(e.master.parent / shipped / "02-ltas_eq" / "audio.wav")}
    rows.update({k: mono(e.master.parent / v / f"{RECORDING_ID}.flac") for k, v in runs.items()})
    grid = log_grid(sr / 2.0)
    freqs = np.fft.rfftfreq(BALANCE_N_FFT, d=1.0 / sr)
    band = pass_band(grid, interp_log_freq(grid, e.response_freqs_hz, e.response_db), sr / 2.0)
    g = grid[band]
    region = np.select([g < p.highpass_hz, g < 2 * p.highpass_hz, g < p.lowpass_hz / 2, g < p.lowpass_hz],
                       [0, 1, 2, 3], 4)
    line = [e.name[:22]]
    for name, y in rows.items():
        diff = interp_log_freq(grid, freqs, smoothed_ltas_db(y, sr) - smoothed_ltas_db(e.clean, sr))[band]
        d = diff - diff.mean()
        mass[name] = mass.get(name, 0) + np.array([np.sum(d[region == r] ** 2) / d.size for r in range(5)])
        signed.setdefault(name, []).append(np.array([d[region == r].mean() if (region == r).any() else np.nan
                                                     for r in range(5)]))
        line.append(f"{name} {np.sqrt(np.mean(d ** 2)):.2f}")
    print("  ".join(line), flush=True)
k = len(next(iter(signed.values())))
print(f"\nmean square by region (dB^2), {k} excerpts; then mean signed difference (dB)")
print(f"{'row':24s}" + "".join(f"{r:>11s}" for r in REGIONS) + f"{'total':>8s}")
for name in mass:
    print(f"{name[:24]:24s}" + "".join(f"{m / k:11.2f}" for m in mass[name]) + f"{mass[name].sum() / k:8.2f}")
    print(f"{'  signed':24s}" + "".join(f"{v:11.2f}" for v in np.nanmean(np.array(signed[name]), axis=0)))
