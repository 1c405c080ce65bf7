"""Experiment record (session 27): below the high-pass the fit reads the bass cut, the noise caps withhold it.

Not shipped code; a diagnostic after floor_rule.txt's outcome, on the same excerpts (no decision rests on it).
For validation excerpts FIRST..N-1 of the cache (the piano run's denoised signal; needs the piano-ltas chain
run's folder, or a link to the piano run's under that name), per excerpt, over the analysis bands below the
true high-pass corner inside the scored pass band: the true chain's inverse (dB, its peak level removed), the
fit's inverse, the boost cap (noise evidence, hiss margin, limits) and the gain applied. Then the LTAS error
and LSD of the chain EQ as designed, and with the boost it withheld below 500 Hz given back (inverse less
applied gain, smoothed as the EQ is): an optimistic bound on what restoring the bass level is worth, since
it lifts the noise there too.

Usage (from the repository root, PYTHONPATH=docs/benchmarks/session20:.):
    python bass_caps.py CACHE FONT FIRST N        (FONT: - for the held-out one)
"""
import sys
from pathlib import Path

import numpy as np
from harness import chain_cases

from shellac.engine.dsp.chain_eq import design_chain_eq, smooth_bands
from shellac.engine.dsp.ltas import apply_eq_db

BASS_HZ = 500.0
cache, font, first, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows, bands = [], []
for c in chain_cases(cache, font, first, n):
    e, sr = c.excerpt, c.excerpt.sample_rate
    eq = design_chain_eq(c.observed, c.reference["reference_power"], sr,
                         reference_spread_db=c.reference["reference_spread_db"],
                         reference_shape_basis_db=c.reference["reference_shape_basis_db"])
    f = c.grid.centres_hz
    true = np.interp(np.log(f), np.log(e.response_freqs_hz), e.response_db)
    true_inverse = true.max() - true
    sel = (true_inverse < 20.0) & (f < e.params.highpass_hz)
    curves = (true_inverse, eq.inverse_db, eq.boost_cap_db, eq.gain_db, c.observed.snr_db())
    bands.append([float(v[sel].mean()) if sel.any() else np.nan for v in curves])  # none: hp under 50 Hz
    held_back = np.maximum(eq.inverse_db - np.maximum(eq.gain_db, 0), 0)
    withheld = np.where((f < BASS_HZ) & (eq.inverse_db > 0), held_back, 0)
    scores = []
    for gain in (eq.gain_db, eq.gain_db + smooth_bands(withheld, f, 1.0 / 6.0)):
        on_bins = np.interp(np.log(np.maximum(np.fft.rfftfreq(2048, 1.0 / sr), 1.0)), np.log(f), gain)
        scores.append(c.score(apply_eq_db(c.denoised, sr, 2048, -on_bins)))
    rows.append([c.row["ltas_eq"][1], scores[0][1], scores[1][1],
                 c.row["ltas_eq"][0], scores[0][0], scores[1][0]])
    b, r = bands[-1], rows[-1]
    print(f"{e.name[:20]:20s} below hp: true {b[0]:5.1f} fit {b[1]:5.1f} cap {b[2]:5.1f} applied {b[3]:5.1f} "
          f"SNR {b[4]:5.1f} | LTAS err LTAS-EQ {r[0]:.2f} chain EQ {r[1]:.2f} bass given back {r[2]:.2f} | "
          f"LSD {r[3]:.2f} {r[4]:.2f} {r[5]:.2f}", flush=True)
a, b = np.array(rows), np.array(bands)
m = np.nanmean(b, axis=0)
print(f"\nmeans below hp ({np.isfinite(b[:, 0]).sum()} excerpts with bands there): true inverse {m[0]:.2f}, "
      f"fit {m[1]:.2f}, cap {m[2]:.2f}, applied {m[3]:.2f} dB")
wins = [(a[:, k] < a[:, 0]).sum() for k in (1, 2)]
print(f"LTAS error: LTAS-EQ {a[:, 0].mean():.3f}, chain EQ {a[:, 1].mean():.3f}, "
      f"bass given back {a[:, 2].mean():.3f}; wins against LTAS-EQ {wins[0]} -> {wins[1]} of {len(a)}")
print(f"LSD: LTAS-EQ {a[:, 3].mean():.3f}, chain EQ {a[:, 4].mean():.3f}, "
      f"bass given back {a[:, 5].mean():.3f}")
