"""Scratch: chain-fit variants (steeper lowpass bounds, instrument tilt nuisance) on validation, DSP only."""
import sys, json
from dataclasses import replace
from pathlib import Path
import numpy as np, soundfile as sf
from shellac.engine.models.bundle import read_reference_ltas
from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum, ltas_on_bands, spread_on_bands
from shellac.engine.dsp.chain_eq import design_chain_eq, ChainEqSettings
from shellac.engine.dsp.chain_fit import REFERENCE_FIT
from shellac.engine.dsp.ltas import apply_eq_db, compute_ltas, ltas_eq_gain_db
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import prepare_excerpts, ChainRun
from shellac.lab.evaluation.spectral_balance import ltas_error_db
from shellac.lab.evaluation.metrics import lsd

part_name = sys.argv[1]; n = int(sys.argv[2]); fonts = sys.argv[3].split(",")
cache = Path(sys.argv[4]) if len(sys.argv) > 4 else Path("/tmp/s12/cache")
ref = read_reference_ltas(Path("/work/main/models/piano"))
key = ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}).key()
lkey = ChainRun("piano-ltas", {}).key()
base_fit = replace(REFERENCE_FIT, min_snr_db=6.0)

def tilt_fit(obs, refp, spread, sr, fit_settings, tilts, penalty=0.0):
    c = obs.grid.centres_hz
    best = None
    for t in tilts:
        rp = refp * 10 ** (t * np.log2(c / 1000.0) / 10)
        eq = design_chain_eq(obs, rp, sr, reference_spread_db=spread, fit_settings=fit_settings)
        if eq.fit is None: continue
        cost = eq.fit.rms_db ** 2 + penalty * t * t
        if best is None or cost < best[0]: best = (cost, eq, t)
    return best[1], best[2]

VARIANTS = {
    "shipped": dict(fit=base_fit),
    "lp24": dict(fit=replace(base_fit, lowpass_slope_range_db=(24.0, 96.0))),
    "lp36": dict(fit=replace(base_fit, lowpass_slope_range_db=(36.0, 96.0))),



}
allres = {}
for font in fonts:
    part = load_heldout(part_name, kind="piano")
    if font != "-":
        part = replace(part, soundfont=find_soundfont(Path(font)))
    ex = prepare_excerpts(part, n, 5.5, 22050, 0, cache, log=lambda s: None)
    rows = []
    for e in ex:
        sr = e.sample_rate
        den, _ = sf.read(e.master.parent / key / "01-denoise" / "audio.wav", dtype="float64")
        den = (den if den.ndim == 1 else den.mean(axis=1))[: e.clean.size]
        lt, _ = sf.read(sorted((e.master.parent / lkey).glob("0*-ltas_eq/audio.wav"))[0], dtype="float64")
        lt = (lt if lt.ndim == 1 else lt.mean(axis=1))[: e.clean.size]
        grid = band_grid(sr); obs = band_spectrum(den, sr, grid)
        refp = ltas_on_bands(ref, grid, sr); spread = spread_on_bands(ref, grid, sr)
        score = lambda y: (lsd(e.clean, y), ltas_error_db(e.clean, y, sr, e.response_freqs_hz, e.response_db))
        r = {"input": score(e.degraded[: e.clean.size]), "ltas_eq": score(lt)}
        info = {}
        for name, v in VARIANTS.items():
            if "tilts" in v:
                eq, t = tilt_fit(obs, refp, spread, sr, v["fit"], v["tilts"])
            else:
                eq = design_chain_eq(obs, refp, sr, reference_spread_db=spread, fit_settings=v["fit"]); t = 0
            y = apply_eq_db(den, sr, 2048, -eq.gain_on_bins(sr, 2048))
            r[name] = score(y)
            f = eq.fit.response if eq.fit else None
            info[name] = (t, f.lowpass_hz if f else 0, f.lowpass_slope_db if f else 0)
        rows.append(r)
        print(font[:8], e.name[:16].ljust(16), f"lp {e.params.lowpass_hz:6.0f}/{e.params.lowpass_slope_db_per_oct:4.1f}",
              " ".join(f"{k[:9]} {v[1]:4.2f}" for k, v in r.items()),
              " | ", " ".join(f"{k[:6]}:{i[0]:+.1f},{i[1]:.0f}/{i[2]:.0f}" for k, i in info.items()), flush=True)
    allres[font] = rows
    print("MEAN", font, " ".join(f"{k} {np.mean([x[k][0] for x in rows]):5.2f}/{np.mean([x[k][1] for x in rows]):4.2f}" for k in rows[0]))
    print("WINS-vs-LTAS", font, " ".join(f"{k} {sum(x[k][1] < x['ltas_eq'][1] for x in rows)}" for k in rows[0]))
json.dump({f: [{k: list(v) for k, v in r.items()} for r in rows] for f, rows in allres.items()}, open(f"/tmp/s14/fitvar-{part_name}-{fonts[0][:6]}.json", "w"))
allrows = [r for rows in allres.values() for r in rows]
print("ALL", " ".join(f"{k} {np.mean([x[k][0] for x in allrows]):5.2f}/{np.mean([x[k][1] for x in allrows]):4.2f}" for k in allrows[0]))
