"""Experiment record (session 19): chain-fit slope bounds against the shipped chain EQ, validation excerpts.

Not shipped code. Scores the chain EQ of validation excerpts FIRST..N-1 (denoised input of the
cached piano-ltas/chain run) with the shipped settings and with each variant's fit bounds, against
the clean render; the cached chain run's own output, LTAS-EQ and the untouched input beside them.
The cache must hold the excerpts and their runs, as left by

    shellac bench-heldout --part validation [--soundfont F] --excerpts N \\
        --rows input,ltas_eq,chain_eq --visqol off --plots 0 --cache CACHE

Usage (from the repository root): python hpslope_variants.py CACHE FONT FIRST N OUT.json
(FONT: - for the held-out one).
"""
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum, ltas_on_bands, shape_basis_on_bands
from shellac.engine.dsp.band_spectrum import spread_on_bands
from shellac.engine.dsp.chain_eq import ChainEqSettings, design_chain_eq
from shellac.engine.dsp.chain_fit import REFERENCE_FIT
from shellac.engine.dsp.ltas import apply_eq_db
from shellac.engine.models.bundle import read_reference_ltas
from shellac.lab.evaluation.metrics import lsd
from shellac.lab.evaluation.spectral_balance import ltas_error_db
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts

cache, font, first, n, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
ref = read_reference_ltas(Path("models/piano"))
chain_key = ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}).key()
ltas_key = ChainRun("piano-ltas", {}).key()
eq_settings = ChainEqSettings()
# What design_chain_eq builds from the shipped ChainEqSettings when given no fit settings.
base = replace(REFERENCE_FIT, min_snr_db=eq_settings.min_snr_db,
               resonance_spacing_octaves=eq_settings.resonance_spacing_octaves)
variants = {
    "shipped": None,
    "hp12": replace(base, highpass_slope_range_db=(12.0, 48.0)),
    "lp36": replace(base, lowpass_slope_range_db=(36.0, 96.0)),
    "hp12lp36": replace(base, highpass_slope_range_db=(12.0, 48.0), lowpass_slope_range_db=(36.0, 96.0)),
}
part = load_heldout("validation", kind="piano")
if font != "-":
    part = replace(part, soundfont=find_soundfont(Path(font)))
rows = []
for e in prepare_excerpts(part, n, 5.5, 22050, 0, cache, log=lambda s: None)[first:]:
    sr, size = e.sample_rate, e.clean.size

    def mono(path: Path) -> np.ndarray:
        x, _ = sf.read(path, dtype="float64")
        return (x if x.ndim == 1 else x.mean(axis=1))[:size]

    def score(y: np.ndarray) -> list[float]:
        return [lsd(e.clean, y), ltas_error_db(e.clean, y, sr, e.response_freqs_hz, e.response_db)]

    den = mono(e.master.parent / chain_key / "01-denoise" / "audio.wav")
    cached = mono(sorted((e.master.parent / chain_key).glob("0*-ltas_eq/audio.wav"))[0])
    ltas = mono(sorted((e.master.parent / ltas_key).glob("0*-ltas_eq/audio.wav"))[0])
    grid = band_grid(sr)
    obs = band_spectrum(den, sr, grid)
    row = {"name": e.name, "input": score(e.degraded[:size]), "ltas_eq": score(ltas), "cached_chain": score(cached)}
    for name, fit in variants.items():
        eq = design_chain_eq(obs, ltas_on_bands(ref, grid, sr), sr, settings=eq_settings, fit_settings=fit,
                             reference_spread_db=spread_on_bands(ref, grid, sr),
                             reference_shape_basis_db=shape_basis_on_bands(ref, grid, sr))
        row[name] = score(apply_eq_db(den, sr, 2048, -eq.gain_on_bins(sr, 2048)))
        row[name + "_fit"] = None if eq.fit is None else eq.fit.response.to_json()
    rows.append(row)
    print(e.name, {k: [round(v, 3) for v in row[k]] for k in ("input", "ltas_eq", "cached_chain", *variants)},
          flush=True)
out.write_text(json.dumps({"font": font, "first": first, "excerpts": rows}, indent=1))
