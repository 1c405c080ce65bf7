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

from harness import chain_cases

import shellac.engine.dsp.chain_eq as chain_eq
from shellac.engine.dsp.chain_fit import REFERENCE_FIT
from shellac.engine.dsp.ltas import apply_eq_db

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
rows = []
for case in chain_cases(cache, font, first, n):
    sr, row = case.excerpt.sample_rate, case.row
    for name, (hp, lp) in VARIANTS.items():
        current.update(hp=hp, lp=lp)
        eq = chain_eq.design_chain_eq(case.observed, sample_rate=sr, settings=chain_eq.ChainEqSettings(),
                                      **case.reference)
        row[name] = case.score(apply_eq_db(case.denoised, sr, 2048, -eq.gain_on_bins(sr, 2048)))
        row[name + "_fit"] = current["changed"]
    rows.append(row)
    print(row["name"], {k: [round(v, 3) for v in row[k]] for k in ("input", "ltas_eq", "cached_chain", *VARIANTS)},
          {k: row[k + "_fit"] for k in VARIANTS if row[k + "_fit"]}, flush=True)
out.write_text(json.dumps({"font": font, "first": first, "excerpts": rows}, indent=1))
