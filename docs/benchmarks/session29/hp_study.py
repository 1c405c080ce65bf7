"""Experiment record (session 29): the chain fit's high-pass against the truth, fitted two ways.

Not shipped code. For validation excerpts FIRST..N-1 of a bench-heldout cache (the run RUN's denoised
input, i.e. the EQ step's input), fit the chain twice: as the EQ step does (against the piano bundle's
reference, with its spread and shape basis; `design_against`), and as an oracle (against the clean
render's own band powers; `fit_chain`'s defaults). Per excerpt: each fit's high-pass corner / slope
and its response error in 100-250 Hz (fitted minus true, dB, both levelled on 600-1200 Hz; + = the
fit attenuates the bass less than the chain did, so its inverse boosts too little); and how far the
clean render itself departs from the reference there ("clean - ref", levelled the same way). Then the
medians and means.

Usage (from a clone's root): python hp_study.py CACHE FONT FIRST N RUN
    FONT: - for the held-out font, or a soundfont file name; RUN: piano (the piano profile's EQ step)
    or piano-ltas (the chain EQ alone, ltas_eq.method = chain).
"""
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum, ltas_on_bands
from shellac.engine.dsp.chain_eq import design_against
from shellac.engine.dsp.chain_fit import fit_chain
from shellac.engine.models.bundle import read_reference_ltas
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts

cache, font, first, n, run = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
key = ChainRun(run, {"ltas_eq": {"method": "chain"}} if run == "piano-ltas" else {}).key()
ref = read_reference_ltas(Path("models/piano"))
part = load_heldout("validation", kind="piano")
if font != "-":
    part = replace(part, soundfont=find_soundfont(Path(font)))
stats: dict[str, list[tuple[float, float]]] = {"reference": [], "oracle": []}
departures = []
for e in prepare_excerpts(part, n, 5.5, 22050, 0, cache, first=first, log=lambda s: None):
    sr = e.sample_rate
    x, _ = sf.read(e.master.parent / key / "01-denoise" / "audio.wav", dtype="float64")
    den = (x if x.ndim == 1 else x.mean(axis=1))[: e.clean.size]
    grid = band_grid(sr)
    obs = band_spectrum(den, sr, grid)
    f = grid.centres_hz
    known = e.response_freqs_hz > 0
    true = np.interp(np.log2(f), np.log2(e.response_freqs_hz[known]), e.response_db[known])
    clean_power = band_spectrum(e.clean, sr, grid).mean_power
    fits = {"reference": design_against(obs, ref, sr, None).fit,
            "oracle": fit_chain(obs, clean_power)}
    p = e.params
    line = f"{e.name[:22]:22s} true {p.highpass_hz:5.0f} Hz/{p.highpass_slope_db_per_oct:4.1f}"
    mid, bass = (f >= 600) & (f <= 1200), (f >= 100) & (f <= 250)
    for name, fit in fits.items():
        err = fit.response.response_db(f) - fit.response.gain_db - true
        err -= err[mid].mean()
        stats[name].append((fit.response.highpass_hz / p.highpass_hz, float(err[bass].mean())))
        r = fit.response
        line += f" | {name} {r.highpass_hz:5.0f}/{r.highpass_slope_db:4.1f} bass {err[bass].mean():+6.1f}"
    departure = 10.0 * np.log10(clean_power / ltas_on_bands(ref, grid, sr))
    departure -= departure[mid].mean()
    departures.append(float(departure[bass].mean()))
    print(line + f" | clean - ref {departures[-1]:+6.1f}", flush=True)
for name, s in stats.items():
    a = np.array(s)
    print(f"{name}: corner fitted/true median {np.median(a[:, 0]):.2f},"
          f" above 1.1x on {np.sum(a[:, 0] > 1.1)} of {len(a)};"
          f" 100-250 Hz error mean {a[:, 1].mean():+.1f} dB, median {np.median(a[:, 1]):+.1f}, |error| mean"
          f" {np.abs(a[:, 1]).mean():.1f}")
print(f"clean render - reference, 100-250 Hz levelled on 600-1200 Hz: mean {np.mean(departures):+.1f} dB,"
      f" median {np.median(departures):+.1f}; correlation with the reference fit's error"
      f" {np.corrcoef(departures, np.array(stats['reference'])[:, 1])[0, 1]:+.2f}")
