"""Experiment record (session 17): at the skirts of the true cut-offs, what the chain EQ needed, what its fit
inverted, what each boost limit allowed, and the gain it applied; validation excerpts 0-7 per font.
Not shipped code. Each figure is the mean over the analysis bands in an octave range relative to the true
corner (bands where the true chain is at most 20.5 dB down, the benchmark's pass band).
  need     the true chain's inverse (its mid-band level removed)
  inverse  the fitted chain's inverse (the EQ's wish before limits)
  margin   hiss limit: reference (+ shape) clean level + fitted level - noise floor - snr_margin_db
  persnr   evidence limit: boost_per_snr_db x (band SNR - min_snr_db)
  edgecap  edge_boost_db below edge_low_hz and above Nyquist/2, max_boost_db elsewhere
  cap      the limit applied (the least of them, 0 where the band is within min_snr_db of its floor)
  gain     the applied gain (after the hiss cut and the final smoothing)
  snr      the denoised observation's band SNR
Usage (from the repository root; cache /tmp/s12/cache as left by the session-16 validation runs):
    python skirt.py FONT...   (- for the held-out font)
"""
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum, ltas_on_bands
from shellac.engine.dsp.chain_eq import ChainEqSettings, design_against
from shellac.engine.models.bundle import read_reference_ltas
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts

ref = read_reference_ltas(Path("models/piano"))
chain_key = ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}).key()
st = ChainEqSettings()
edges = np.array([-1.5, -1.0, -0.5, 0.0, 0.5])
KEYS = ("need", "inverse", "margin", "persnr", "edgecap", "cap", "gain", "snr")
below_hp = {k: [[] for _ in edges[:-1]] for k in KEYS}
above_lp = {k: [[] for _ in edges[:-1]] for k in KEYS}
for font in sys.argv[1:]:
    part = load_heldout("validation", kind="piano")
    if font != "-":
        part = replace(part, soundfont=find_soundfont(Path(font)))
    for e in prepare_excerpts(part, 8, 5.5, 22050, 0, Path("/tmp/s12/cache"), log=lambda s: None):
        sr, n = e.sample_rate, e.clean.size
        x, _ = sf.read(e.master.parent / chain_key / "01-denoise" / "audio.wav", dtype="float64")
        obs = band_spectrum((x if x.ndim == 1 else x.mean(axis=1))[:n], sr, band_grid(sr))
        eq = design_against(obs, ref, sr, st)
        c = obs.grid.centres_hz
        true = np.interp(np.log2(c), np.log2(e.response_freqs_hz), e.response_db)
        need = -(true - np.median(true[(c > 2 * e.params.highpass_hz) & (c < e.params.lowpass_hz / 2)]))
        ref_db = 10 * np.log10(np.maximum(ltas_on_bands(ref, obs.grid, sr), 1e-30)) + eq.fit.shape_db
        noise_db = 10 * np.log10(np.maximum(obs.noise_power, 1e-30))
        vals = {"need": need, "inverse": eq.inverse_db,
                "margin": ref_db + eq.fit.response.gain_db - noise_db - st.snr_margin_db,
                "persnr": st.boost_per_snr_db * (obs.snr_db() - st.min_snr_db),
                "edgecap": np.where((c < st.edge_low_hz) | (c > sr / 4), st.edge_boost_db, st.max_boost_db),
                "cap": eq.boost_cap_db, "gain": eq.gain_db, "snr": obs.snr_db()}
        ohp, olp = np.log2(c / e.params.highpass_hz), np.log2(c / e.params.lowpass_hz)
        for j in range(edges.size - 1):
            for table, pos in ((below_hp, ohp), (above_lp, -olp)):
                m = (pos >= edges[j]) & (pos < edges[j + 1]) & (need < 20.5)
                for k in KEYS:
                    table[k][j] += list(vals[k][m])
        fitted = {k: v for k, v in eq.fit.response.to_json().items() if k != "resonances"}
        print(f"{font[-12:]:12} {e.name[:18]:18} true hp {e.params.highpass_hz:6.0f} Hz "
              f"{e.params.highpass_slope_db_per_oct:4.1f} dB/oct, lp {e.params.lowpass_hz:6.0f} Hz "
              f"{e.params.lowpass_slope_db_per_oct:4.1f} dB/oct; fitted {fitted}", flush=True)
for title, table in (("octaves relative to the true high-pass corner", below_hp),
                     ("octaves relative to the true low-pass corner, negated (-1.0..-0.5: 0.5-1 octave above it)",
                      above_lp)):
    print(title)
    for k in KEYS:
        print(f"  {k:8}", " ".join(f"[{edges[j]:+.1f}..{edges[j + 1]:+.1f}] {np.mean(v):+6.1f}" if v else "-"
                                   for j, v in enumerate(table[k])))
