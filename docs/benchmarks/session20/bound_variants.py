"""Experiment record (session 20): the chain EQ leaves a roll-off alone when its fitted corner is on the box bound.

Not shipped code. Scores the chain EQ of validation excerpts FIRST..N-1 (denoised input of the cached
piano-ltas/chain run) as shipped and with each variant of bound_rule.txt, against the clean render;
the cached chain run's own output, LTAS-EQ and the untouched input beside them. A variant changes only
the fitted response design_chain_eq inverts (it wraps chain_eq's fit_chain), so the boost limits, the
hiss cut and the smoothing follow from the changed response exactly as shipped.
Output format as session 19's hpslope_variants.py, so session19/summarise_variants.py decides.

Usage (from the repository root): python bound_variants.py CACHE FONT FIRST N OUT.json
(FONT: - for the held-out one). The cache must hold the runs of

    shellac bench-heldout --part validation [--soundfont F] --excerpts N \\
        --rows input,ltas_eq,chain_eq --visqol off --plots 0 --cache CACHE
"""
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

import shellac.engine.dsp.chain_eq as chain_eq
from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum, ltas_on_bands, shape_basis_on_bands
from shellac.engine.dsp.band_spectrum import spread_on_bands
from shellac.engine.dsp.chain_fit import REFERENCE_FIT
from shellac.engine.dsp.ltas import apply_eq_db
from shellac.engine.models.bundle import read_reference_ltas
from shellac.lab.evaluation.metrics import lsd
from shellac.lab.evaluation.spectral_balance import ltas_error_db
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts

HP_TOP, LP_BOTTOM = REFERENCE_FIT.highpass_range_hz[1], REFERENCE_FIT.lowpass_range_hz[0]
VARIANTS = {"shipped": (False, False), "hpfree": (True, False), "lpfree": (False, True), "bothfree": (True, True)}
original_fit = chain_eq.fit_chain
current = {"hp": False, "lp": False, "changed": ""}


def fit_with_free_bounds(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """chain_eq's fit_chain, then the variant's change to the response the EQ will invert."""
    fit = original_fit(*args, **kwargs)
    response, changed = fit.response, []
    if current["hp"] and response.highpass_hz >= HP_TOP * (1 - 1e-3):
        response, changed = replace(response, highpass_hz=1.0), [*changed, "hp"]
    if current["lp"] and response.lowpass_hz <= LP_BOTTOM * (1 + 1e-3):
        response, changed = replace(response, lowpass_hz=1e6), [*changed, "lp"]
    current["changed"] = ",".join(changed)
    return replace(fit, response=response)


chain_eq.fit_chain = fit_with_free_bounds
cache, font, first, n, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
ref = read_reference_ltas(Path("models/piano"))
chain_key = ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}).key()
ltas_key = ChainRun("piano-ltas", {}).key()
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
    for name, (hp, lp) in VARIANTS.items():
        current.update(hp=hp, lp=lp)
        eq = chain_eq.design_chain_eq(obs, ltas_on_bands(ref, grid, sr), sr, settings=chain_eq.ChainEqSettings(),
                                      reference_spread_db=spread_on_bands(ref, grid, sr),
                                      reference_shape_basis_db=shape_basis_on_bands(ref, grid, sr))
        row[name] = score(apply_eq_db(den, sr, 2048, -eq.gain_on_bins(sr, 2048)))
        row[name + "_fit"] = current["changed"]
    rows.append(row)
    print(e.name, {k: [round(v, 3) for v in row[k]] for k in ("input", "ltas_eq", "cached_chain", *VARIANTS)},
          {k: row[k + "_fit"] for k in VARIANTS if row[k + "_fit"]}, flush=True)
out.write_text(json.dumps({"font": font, "first": first, "excerpts": rows}, indent=1))
