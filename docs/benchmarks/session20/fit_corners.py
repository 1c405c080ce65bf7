"""Experiment record (session 20): how often the chain fit ends on a bound of its box, and what it costs.

Not shipped code. For the validation excerpts 0..N-1 of the cached `piano` runs, prints the true
chain's cut-offs and slopes, the fitted ones (the EQ step's ltas.json), which of them sit on a bound
of the fit's box (ChainFitSettings: high-pass 40-600 Hz, 6-48 dB/oct; low-pass 1500-11000 Hz, 12-96
dB/oct), and the EQ step's LTAS error beside the untouched input's and LTAS-EQ's.

Usage (from the repository root): python fit_corners.py CACHE N
"""
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.dsp.chain_fit import ChainFitSettings
from shellac.lab.evaluation.spectral_balance import ltas_error_db
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts

cache, n = Path(sys.argv[1]), int(sys.argv[2])
s = ChainFitSettings()
piano, ltas_key = ChainRun("piano", {}).key(), ChainRun("piano-ltas", {}).key()
bounds = {"highpass_hz": s.highpass_range_hz, "highpass_slope_db_per_oct": s.highpass_slope_range_db,
          "lowpass_hz": s.lowpass_range_hz, "lowpass_slope_db_per_oct": s.lowpass_slope_range_db}
groups: dict[str, list[tuple[float, float]]] = {}
for e in prepare_excerpts(load_heldout("validation", kind="piano"), n, 5.5, 22050, 0, cache, log=lambda s: None):
    eq_dir = e.master.parent / piano / "02-ltas_eq"
    ltas_path = e.master.parent / ltas_key / "02-ltas_eq" / "audio.wav"
    if not (eq_dir / "ltas.json").exists():
        continue
    chain = json.loads((eq_dir / "ltas.json").read_text())["chain"]["chain"]
    at = [("hp" if k.startswith("high") else "lp") + ("-slope-" if "slope" in k else "-corner-")
          + ("low" if abs(chain[k] - lo) < abs(chain[k] - hi) else "high")
          for k, (lo, hi) in bounds.items() if min(abs(chain[k] - lo), abs(chain[k] - hi)) <= 1e-3 * hi]
    size = e.clean.size

    def err(y: np.ndarray) -> float:
        return ltas_error_db(e.clean, y[:size], e.sample_rate, e.response_freqs_hz, e.response_db)

    eq = sf.read(eq_dir / "audio.wav", always_2d=True)[0].mean(axis=1)
    row = [err(e.degraded), err(eq)]
    row.append(err(sf.read(ltas_path, always_2d=True)[0].mean(axis=1)) if ltas_path.exists() else float("nan"))
    p = e.params
    print(f"{e.name:22s} true hp {p.highpass_hz:4.0f}/{p.highpass_slope_db_per_oct:4.1f} lp {p.lowpass_hz:5.0f}/"
          f"{p.lowpass_slope_db_per_oct:4.1f}  fit hp {chain['highpass_hz']:4.0f}/"
          f"{chain['highpass_slope_db_per_oct']:4.1f} lp {chain['lowpass_hz']:5.0f}/"
          f"{chain['lowpass_slope_db_per_oct']:4.1f}  LTAS err input/EQ step/LTAS-EQ "
          f"{row[0]:.2f}/{row[1]:.2f}/{row[2]:.2f}  at bound: {','.join(at) or '-'}", flush=True)
    for flag in at or ["none"]:
        groups.setdefault(flag, []).append((row[1], row[0]))
print("\nEQ step's LTAS error (and the input's) by bound reached, means:")
for flag, values in sorted(groups.items()):
    v = np.array(values)
    print(f"  {flag:12s} n {len(v):2d}  EQ step {v[:, 0].mean():.2f}  input {v[:, 1].mean():.2f}")
