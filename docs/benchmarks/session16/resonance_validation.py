"""Experiment record (session 16): the chain fit with resonances kept apart, against the shipped fit.

Not shipped code. Scores the chain EQ of validation excerpts FIRST..N-1 (denoised inputs of the
cached piano-ltas/chain runs) with the fit as shipped before the fix ("shipped": the greedy search
free to stack copies of a resonance, reproduced by RESONANCE_SPACING_OCTAVES = 0) and with the fix
at ridge weights 0.5 (d), 0.25 (d25) and 0.125 (d12) (rule: resonance_rule.txt), against the clean
render; LTAS-EQ and the untouched input beside them. The cache must hold the excerpts and their
piano-ltas runs, as left by

    shellac bench-heldout --part validation [--soundfont F] --excerpts N \\
        --rows input,ltas_eq,chain_eq --visqol off --plots 0 --cache CACHE

Ran at commit c21cf97 (after it the spacing is ChainFitSettings.resonance_spacing_octaves, and setting the
module constant no longer reaches the fit). Usage (from the repository root): python resonance_validation.py CACHE FONT FIRST N OUT.json [NAMES]
(FONT: - for the held-out one; NAMES: a comma-separated subset of the variants, all by default). summarise.py prints the means of its outputs.
"""
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.dsp import chain_fit
from shellac.engine.dsp.band_spectrum import (
    band_grid,
    band_spectrum,
    ltas_on_bands,
    shape_basis_on_bands,
    spread_on_bands,
)
from shellac.engine.dsp.chain_eq import ChainEqSettings, design_chain_eq
from shellac.engine.dsp.ltas import apply_eq_db
from shellac.engine.models.bundle import read_reference_ltas
from shellac.lab.evaluation.metrics import lsd
from shellac.lab.evaluation.spectral_balance import ltas_error_db
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts

cache, font, first, n, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
reference = read_reference_ltas(Path("models/piano"))
chain_key = ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}).key()
ltas_key = ChainRun("piano-ltas", {}).key()
settings = ChainEqSettings()
fixed = chain_fit.RESONANCE_SPACING_OCTAVES
base_fit = replace(chain_fit.REFERENCE_FIT, min_snr_db=settings.min_snr_db)
variants = {"shipped": (0.0, base_fit), "d": (fixed, base_fit),
            "d25": (fixed, replace(base_fit, resonance_penalty=0.25)),
            "d12": (fixed, replace(base_fit, resonance_penalty=0.125))}
if len(sys.argv) > 6:
    variants = {name: variants[name] for name in sys.argv[6].split(",")}
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
    ltas = mono(sorted((e.master.parent / ltas_key).glob("0*-ltas_eq/audio.wav"))[0])
    grid = band_grid(sr)
    obs = band_spectrum(den, sr, grid)
    row = {"name": e.name, "input": score(e.degraded[:size]), "ltas_eq": score(ltas)}
    for name, (spacing, fit_settings) in variants.items():
        chain_fit.RESONANCE_SPACING_OCTAVES = spacing
        eq = design_chain_eq(obs, ltas_on_bands(reference, grid, sr), sr, settings=settings,
                             fit_settings=fit_settings,
                             reference_spread_db=spread_on_bands(reference, grid, sr),
                             reference_shape_basis_db=shape_basis_on_bands(reference, grid, sr))
        row[name] = score(apply_eq_db(den, sr, 2048, -eq.gain_on_bins(sr, 2048)))
        row[name + "_fit"] = None if eq.fit is None else eq.fit.response.to_json()
    chain_fit.RESONANCE_SPACING_OCTAVES = fixed
    rows.append(row)
    print(font[-14:], e.name[:20], {k: [round(v, 2) for v in row[k]] for k in ("input", "ltas_eq", *variants)},
          flush=True)
keys = ("input", "ltas_eq", *variants)
print("MEAN LSD/LTAS", {k: [round(float(np.mean([r[k][i] for r in rows])), 3) for i in (0, 1)] for k in keys})
out.write_text(json.dumps({"font": font, "first": first, "excerpts": rows}, indent=1))
