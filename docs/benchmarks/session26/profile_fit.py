"""Experiment record (session 26): how sharply the chain fit's misfit pins each roll-off corner.

Not shipped code; decides nothing. For validation excerpts FIRST..N-1 of the cached piano-ltas/chain runs
(session 20's harness), the chain fit as the EQ makes it (MAP), then the same fit with one corner held
at each of GRID values over its range (the profile of the misfit over that corner; the other
parameters, shape terms and resonances refitted). The cost is the fit's whole objective: weighted
squared log misfit plus the ridge and shape-prior terms. Prints per excerpt the true corner, the MAP
corner and each profile point's cost above the MAP's.

Usage (from the repository root, PYTHONPATH=docs/benchmarks/session20:.):
    python profile_fit.py CACHE FONT FIRST N OUT.json      (FONT: - for the held-out one)
"""
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from bma_variants import objective, original_fit
from harness import chain_cases

import shellac.engine.dsp.chain_eq as chain_eq

GRID = 9
captured: dict = {}


def capture(observed, clean_power, **kwargs):  # noqa: ANN001, ANN003, ANN201
    """chain_eq's fit_chain, remembering its arguments."""
    captured.update(observed=observed, clean_power=clean_power, kwargs=kwargs)
    return original_fit(observed, clean_power, **kwargs)


chain_eq.fit_chain = capture
cache, font, first, n, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
rows = []
for case in chain_cases(cache, font, first, n):
    sr = case.excerpt.sample_rate
    eq = chain_eq.design_chain_eq(case.observed, sample_rate=sr, settings=chain_eq.ChainEqSettings(),
                                  **case.reference)
    obs, clean, kw = captured["observed"], captured["clean_power"], captured["kwargs"]
    settings, spread, basis = kw["settings"], kw["spread_db"], kw["shape_basis_db"]
    base = objective(eq.fit, obs, clean, settings, spread, basis)
    row = {"name": case.excerpt.name, "true_hp": case.excerpt.params.highpass_hz,
           "true_lp": case.excerpt.params.lowpass_hz, "map_hp": eq.fit.response.highpass_hz,
           "map_lp": eq.fit.response.lowpass_hz, "map_cost": base, "bounds": list(eq.bounds),
           "sum_w": float(np.sum(eq.fit.weights)),
           "ltas_err": {k: case.row[k][1] for k in ("input", "ltas_eq", "cached_chain")}}
    for corner, field in (("hp", "highpass_range_hz"), ("lp", "lowpass_range_hz")):
        lo, hi = getattr(settings, field)
        points = []
        for f in np.geomspace(lo, hi * 0.999, GRID):
            held = replace(settings, **{field: (float(f), float(f) * 1.0005)})
            fit = original_fit(obs, clean, settings=held, spread_db=spread, shape_basis_db=basis)
            cost = objective(fit, obs, clean, held, spread, basis)
            points.append([round(float(f), 1), round(cost - base, 3)])
        row[corner] = points
    rows.append(row)
    print(row["name"], "true hp/lp", round(row["true_hp"]), round(row["true_lp"]), "MAP",
          round(row["map_hp"]), round(row["map_lp"]), row["bounds"], "LTAS err in/ltas/chain",
          [round(v, 2) for v in row["ltas_err"].values()], flush=True)
    for corner in ("hp", "lp"):
        print("   ", corner, " ".join(f"{f:.0f}:{c:+.2f}" for f, c in row[corner]), flush=True)
out.write_text(json.dumps({"font": font, "first": first, "excerpts": rows}, indent=1))
