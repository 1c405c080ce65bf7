"""Experiment record (session 26): the chain EQ inverts the fit's posterior-mean response, not its best fit.

Not shipped code. Scores the chain EQ of validation excerpts FIRST..N-1 (denoised input of the cached
piano-ltas/chain run) as shipped and with each variant of bma_rule.txt, against the clean render;
the cached chain run's own output, LTAS-EQ and the untouched input beside them. A variant changes only
the response design_chain_eq inverts (it wraps chain_eq's fit_chain); the boost limits, the hiss cut
and the smoothing follow from it exactly as shipped.

The fit's objective C (weighted squared log misfit plus ridge and shape-prior terms) is profiled over
each roll-off corner: the fit redone with the high-pass (then the low-pass) corner held at each of 9
points spaced evenly in log frequency over its range, all else refitted. Read as a likelihood with
a residual variance of K times the best fit's mean squared misfit (s2 = K * C_best / sum of band
weights; K counts the neighbouring bands one independent misfit spans), each point and the best fit
get weight exp(-(C - C_min) / (2 s2)); per corner the weighted mean of the responses (dB, level
removed) and of the shape terms is formed, and the two corners' departures from the best fit are
added to it. Variants K = 1, 4, 16.

Output format as session 19's hpslope_variants.py, so session19/summarise_variants.py decides.

Usage (from the repository root, PYTHONPATH=docs/benchmarks/session20:.):
    python bma_variants.py CACHE FONT FIRST N OUT.json [hp]      (FONT: - for the held-out one)
hp: bma_hp_rule.txt's variants, the high-pass corner averaged alone (K = 1, 4).
"""
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from harness import chain_cases

import shellac.engine.dsp.chain_eq as chain_eq
import shellac.engine.dsp.chain_fit as chain_fit
from shellac.engine.dsp.chain_model import ChainResponse
from shellac.engine.dsp.ltas import apply_eq_db

GRID = 9
VARIANTS = {"shipped": None, "k1": 1.0, "k4": 4.0, "k16": 16.0}
CORNERS = ("hp", "lp")
# bma_hp_rule.txt: the high-pass corner only (the low-pass as the best fit has it)
HP_VARIANTS = {"shipped": None, "hp1": 1.0, "hp4": 4.0}
original_fit = chain_eq.fit_chain
current: dict = {"k": None, "profile": None, "spread": ""}


@dataclass(frozen=True)
class Averaged(ChainResponse):
    """The best fit's parameters, with a response curve (dB, on the analysis bands) of its own."""

    curve: tuple[float, ...] = ()

    def response_db(self, freqs_hz: np.ndarray) -> np.ndarray:
        assert len(freqs_hz) == len(self.curve)
        return np.asarray(self.curve)


def objective(fit: chain_fit.ChainFit, observed, clean_power, settings, spread_db, basis) -> float:  # noqa: ANN001
    """The fit's objective at its solution, recomputed (the shape coefficients from its shape_db)."""
    weights = chain_fit.band_weights(observed, min_snr_db=settings.min_snr_db)
    if spread_db is not None:
        weights = weights * chain_fit.spread_weights(spread_db, settings.spread_floor_db)
    centres, sigma = observed.grid.centres_hz, settings.smooth_octaves
    observed = replace(observed, mean_power=chain_fit.smooth_bands(observed.mean_power, centres, sigma))
    clean = chain_fit.smooth_bands(np.asarray(clean_power, dtype=np.float64), centres, sigma)
    basis = np.array([chain_fit.smooth_bands(row, centres, sigma) for row in basis])
    problem = chain_fit._Problem(observed, clean, weights, settings.resonance_penalty, basis,
                                 settings.shape_prior_weight)
    coefficients = np.linalg.lstsq(basis.T, fit.shape_db, rcond=None)[0]
    return float(np.sum(problem.residuals(np.concatenate([coefficients, fit.response.to_vector()])) ** 2))


def profile(observed, clean_power, settings, spread_db, basis, best):  # noqa: ANN001, ANN201
    """(cost, response without level, shape) of the best fit and of each corner's held fits."""
    centres = observed.grid.centres_hz

    def point(fit: chain_fit.ChainFit, held: chain_fit.ChainFitSettings) -> tuple:
        curve = fit.response.response_db(centres) - fit.response.gain_db
        return objective(fit, observed, clean_power, held, spread_db, basis), curve, fit.shape_db

    out = {"best": point(best, settings)}
    for corner, field in (("hp", "highpass_range_hz"), ("lp", "lowpass_range_hz")):
        lo, hi = getattr(settings, field)
        out[corner] = []
        for f in np.geomspace(lo, hi * 0.999, GRID):
            held = replace(settings, **{field: (float(f), float(f) * 1.0005)})
            fit = original_fit(observed, clean_power, settings=held, spread_db=spread_db, shape_basis_db=basis)
            out[corner].append(point(fit, held))
    return out


def averaged_fit(observed, clean_power, **kwargs):  # noqa: ANN001, ANN003, ANN201
    """chain_eq's fit_chain, then (for a variant) its response and shape replaced by the posterior means."""
    fit = original_fit(observed, clean_power, **kwargs)
    if current["k"] is None:
        return fit
    if current["profile"] is None:
        current["profile"] = profile(observed, clean_power, kwargs["settings"], kwargs["spread_db"],
                                     kwargs["shape_basis_db"], fit)
    prof = current["profile"]
    best_cost, best_curve, best_shape = prof["best"]
    s2 = current["k"] * best_cost / float(np.sum(fit.weights))
    curve, shape, spread = best_curve.copy(), best_shape.copy(), []
    for corner in CORNERS:
        points = [prof["best"], *prof[corner]]
        costs = np.array([c for c, _, _ in points])
        w = np.exp(-(costs - costs.min()) / (2.0 * s2))
        w /= w.sum()
        curve += sum(wi * p[1] for wi, p in zip(w, points, strict=True)) - best_curve
        shape += sum(wi * p[2] for wi, p in zip(w, points, strict=True)) - best_shape
        spread.append(f"{corner}:{1.0 - w[0]:.2f}")
    current["spread"] = ",".join(spread)
    r = fit.response
    response = Averaged(r.highpass_hz, r.highpass_slope_db, r.lowpass_hz, r.lowpass_slope_db, r.resonances,
                        r.gain_db, curve=tuple(curve + r.gain_db))
    return replace(fit, response=response, shape_db=shape)


chain_eq.fit_chain = averaged_fit
if __name__ == "__main__":
    cache, font, first, n, out = (Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                  Path(sys.argv[5]))
    if sys.argv[6:] == ["hp"]:
        VARIANTS, CORNERS = HP_VARIANTS, ("hp",)
    rows = []
    for case in chain_cases(cache, font, first, n):
        sr, row = case.excerpt.sample_rate, case.row
        current["profile"] = None
        for name, k in VARIANTS.items():
            current.update(k=k, spread="")
            eq = chain_eq.design_chain_eq(case.observed, sample_rate=sr, settings=chain_eq.ChainEqSettings(),
                                          **case.reference)
            row[name] = case.score(apply_eq_db(case.denoised, sr, 2048, -eq.gain_on_bins(sr, 2048)))
            row[name + "_fit"] = current["spread"]
        rows.append(row)
        shown = ("input", "ltas_eq", "cached_chain", *VARIANTS)
        print(row["name"], {k: [round(v, 3) for v in row[k]] for k in shown},
              {k: row[k + "_fit"] for k in VARIANTS if row[k + "_fit"]}, flush=True)
    out.write_text(json.dumps({"font": font, "first": first, "excerpts": rows}, indent=1))
