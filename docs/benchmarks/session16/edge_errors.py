"""Experiment record (session 16): signed LTAS error of the shipped chain EQ, LTAS-EQ and the input against
the clean render, validation excerpts 0-7 per font, by octave position relative to the true cut-offs.
Usage: python edge_errors.py FONT... (- for the held-out font); cache /tmp/s12/cache."""
import sys, json
from dataclasses import replace
from pathlib import Path
import numpy as np, soundfile as sf
from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum
from shellac.engine.dsp.chain_eq import ChainEqSettings, design_against
from shellac.engine.dsp.ltas import apply_eq_db
from shellac.engine.models.bundle import read_reference_ltas
from shellac.lab.evaluation.spectral_balance import smoothed_ltas_db, log_grid, interp_log_freq, pass_band, BALANCE_N_FFT
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts
ref = read_reference_ltas(Path("models/piano"))
chain_key = ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}).key()
ltas_key = ChainRun("piano-ltas", {}).key()
edges = np.arange(-1.5, 1.51, 0.5)
acc = {k: {"hp": [[] for _ in edges[:-1]], "lp": [[] for _ in edges[:-1]], "mid": []} for k in ("chain", "ltas", "input")}
for font in sys.argv[1:]:
    part = load_heldout("validation", kind="piano")
    if font != "-": part = replace(part, soundfont=find_soundfont(Path(font)))
    for e in prepare_excerpts(part, 8, 5.5, 22050, 0, Path("/tmp/s12/cache"), log=lambda s: None):
        sr, n = e.sample_rate, e.clean.size
        def mono(p):
            x, _ = sf.read(p, dtype="float64"); return (x if x.ndim == 1 else x.mean(axis=1))[:n]
        den = mono(e.master.parent / chain_key / "01-denoise" / "audio.wav")
        ltas = mono(sorted((e.master.parent / ltas_key).glob("0*-ltas_eq/audio.wav"))[0])
        eq = design_against(band_spectrum(den, sr, band_grid(sr)), ref, sr, ChainEqSettings())
        out = apply_eq_db(den, sr, 2048, -eq.gain_on_bins(sr, 2048))
        grid = log_grid(sr / 2, 256); freqs = np.fft.rfftfreq(BALANCE_N_FFT, 1 / sr)
        band = pass_band(grid, interp_log_freq(grid, e.response_freqs_hz, e.response_db), sr / 2)
        c = smoothed_ltas_db(e.clean, sr)
        for k, x in (("chain", out), ("ltas", ltas), ("input", e.degraded[:n])):
            d = interp_log_freq(grid, freqs, smoothed_ltas_db(x, sr) - c); d = d - d[band].mean()
            ohp = np.log2(grid / e.params.highpass_hz); olp = np.log2(grid / e.params.lowpass_hz)
            for j in range(edges.size - 1):
                m = band & (ohp >= edges[j]) & (ohp < edges[j + 1]); acc[k]["hp"][j] += list(d[m])
                m = band & (olp >= edges[j]) & (olp < edges[j + 1]); acc[k]["lp"][j] += list(d[m])
            acc[k]["mid"] += list(d[band & (ohp > 1) & (olp < -1)])
        print(font[-12:], e.name[:18], flush=True)
for k in acc:
    print(k, "hp", " ".join(f"[{edges[j]:+.1f}]{np.mean(v):+5.1f}({np.sqrt(np.mean(np.square(v))):.1f})" if v else "-" for j, v in enumerate(acc[k]["hp"])))
    print(k, "lp", " ".join(f"[{edges[j]:+.1f}]{np.mean(v):+5.1f}({np.sqrt(np.mean(np.square(v))):.1f})" if v else "-" for j, v in enumerate(acc[k]["lp"])))
    print(k, "mid", f"{np.mean(acc[k]['mid']):+.1f} ({np.sqrt(np.mean(np.square(acc[k]['mid']))):.1f})")
