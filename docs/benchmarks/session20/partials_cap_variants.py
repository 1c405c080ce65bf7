"""Experiment record (session 20): the chain EQ's boosts above 1.2 kHz capped by what the partials say.

Not shipped code. Scores the chain EQ of validation excerpts FIRST..N-1 (denoised input of the cached
piano-ltas/chain run) as shipped and with its boosts at or above CAP_FROM_HZ limited to the inverse of
the note-template fit's band gains (partials.py) plus a margin, against the clean render; the cached
chain run's own output, LTAS-EQ and the untouched input beside them. The template gains are levelled
onto the fitted chain's response by their median difference over 600-1200 Hz; only boosts are
limited (the smoothed excess over the cap is taken off), cuts are never changed.
Output format as session 19's hpslope_variants.py, so session19/summarise_variants.py decides.

Usage (from the repository root): python partials_cap_variants.py CACHE FONT FIRST N OUT.json
(FONT: - for the held-out one). The cache must hold the runs of

    shellac bench-heldout --part validation [--soundfont F] --excerpts N \\
        --rows input,ltas_eq,chain_eq --visqol off --plots 0 --cache CACHE
"""
import json
import sys
from pathlib import Path

import numpy as np
from harness import chain_cases
from partials import CENTRES, fit_gain, spectrogram, templates

from shellac.engine.dsp.chain_eq import ChainEqSettings, design_chain_eq
from shellac.engine.dsp.chain_fit import smooth_bands
from shellac.engine.dsp.ltas import apply_eq_db

CAP_FROM_HZ = 1200.0
LEVEL_BAND_HZ = (600.0, 1200.0)
MARGINS_DB = {"t0": 0.0, "t3": 3.0}

cache, font, first, n, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
settings = ChainEqSettings()
w = templates()
rows = []
for case in chain_cases(cache, font, first, n):
    sr, row, den = case.excerpt.sample_rate, case.row, case.denoised
    eq = design_chain_eq(case.observed, sample_rate=sr, settings=settings, **case.reference)
    row["shipped"] = case.score(apply_eq_db(den, sr, 2048, -eq.gain_on_bins(sr, 2048)))
    centres = eq.grid.centres_hz
    g_db = fit_gain(spectrogram(den), w)
    if eq.fit is not None:
        response = eq.fit.response.response_db(CENTRES) - eq.fit.response.gain_db
        level = (CENTRES >= LEVEL_BAND_HZ[0]) & (CENTRES <= LEVEL_BAND_HZ[1])
        template_inverse = -(g_db + np.median(response[level] - g_db[level]))
        inverse_on_bands = np.interp(np.log2(centres), np.log2(CENTRES), template_inverse)
    for name, margin in MARGINS_DB.items():
        gain = eq.gain_db.copy()
        if eq.fit is not None:
            cap = np.maximum(inverse_on_bands + margin, 0.0)
            excess = np.where((centres >= CAP_FROM_HZ) & (gain > 0), np.maximum(gain - cap, 0.0), 0.0)
            gain = gain - smooth_bands(excess, centres, settings.smooth_octaves)
        on_bins = np.interp(np.log2(np.maximum(np.fft.rfftfreq(2048, 1.0 / sr), 1e-3)), np.log2(centres), gain)
        row[name] = case.score(apply_eq_db(den, sr, 2048, -on_bins))
        row[name + "_fit"] = float(np.max(eq.gain_db - gain))  # the largest boost taken off, dB
    rows.append(row)
    print(row["name"], {k: [round(v, 3) for v in row[k]] for k in ("input", "ltas_eq", "cached_chain", "shipped",
                                                                  *MARGINS_DB)},
          {k: round(row[k + "_fit"], 2) for k in MARGINS_DB}, flush=True)
out.write_text(json.dumps({"font": font, "first": first, "excerpts": rows}, indent=1))
