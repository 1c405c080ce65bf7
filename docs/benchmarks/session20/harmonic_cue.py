"""Experiment record (session 20): does a note-template fit read a chain's skirts better than the chain fit?

Not shipped code. The LTAS cannot tell a piece with little bass (or treble) from a chain that cut it.
Notes might: a note shows itself by all its partials, so the level of those in a cut band, against
the level the rest predict, measures the chain's attenuation whatever the piece's register. The
template fit (partials.py) gives one gain per semitone band for the denoised signal; its shape
around each true cut-off (hp/2 .. 2 hp and lp/2 .. 2 lp, where the true response is within 20 dB of
its maximum) is compared with the true chain response and with the shipped chain fit's response
(design_chain_eq on the same denoised signal), each levelled over 2 hp .. lp/2. Two checks beside
them: the template fit of the clean render against a flat response (does it invent a chain?), and
of the clean render through the true chain without noise; and a flat line (an estimator that reads no
chain at all), the baseline any cue must beat.

Usage (from the repository root): python harmonic_cue.py CACHE N [FONT]   (FONT: - = held-out)
The cache must hold the validation excerpts' `piano` runs (their 01-denoise step).
"""
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf
from partials import CENTRES, SR, fit_gain, spectrogram, templates

from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum, ltas_on_bands, shape_basis_on_bands
from shellac.engine.dsp.band_spectrum import spread_on_bands
from shellac.engine.dsp.chain_eq import ChainEqSettings, design_chain_eq
from shellac.engine.models.bundle import read_reference_ltas
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts

def skirt_rms(est_db: np.ndarray, true_db: np.ndarray, hp: float, lp: float) -> tuple[float, float, float, float]:
    """RMS and mean (dB) of est − true over hp/2 .. 2 hp, then over lp/2 .. 2 lp, where true is within 20 dB
    of its max, both curves levelled over 2 hp .. lp/2."""
    mid = (CENTRES >= 2 * hp) & (CENTRES <= lp / 2)
    d = (est_db - est_db[mid].mean()) - (true_db - true_db[mid].mean())
    out = []
    for lo, hi in ((hp / 2, 2 * hp), (lp / 2, 2 * lp)):
        skirt = (CENTRES >= lo) & (CENTRES <= hi) & (true_db >= true_db.max() - 20.0)
        out += [float(np.sqrt(np.mean(d[skirt] ** 2))), float(np.mean(d[skirt]))]
    return out[0], out[1], out[2], out[3]


cache, n = Path(sys.argv[1]), int(sys.argv[2])
font = sys.argv[3] if len(sys.argv) > 3 else "-"
part = load_heldout("validation", kind="piano")
if font != "-":
    part = replace(part, soundfont=find_soundfont(Path(font)))
w = templates()
ref = read_reference_ltas(Path("models/piano"))
key = ChainRun("piano", {}).key()
results = []
for e in prepare_excerpts(part, n, 5.5, SR, 0, cache, log=lambda s: None):
    den_path = e.master.parent / key / "01-denoise" / "audio.wav"
    if not den_path.exists():
        continue
    den = sf.read(den_path, always_2d=True)[0].mean(axis=1)
    p = e.params
    true_db = np.interp(np.log2(CENTRES), np.log2(np.maximum(e.response_freqs_hz, 1e-3)), e.response_db)
    grid = band_grid(SR)
    eq = design_chain_eq(band_spectrum(den, SR, grid), ltas_on_bands(ref, grid, SR), SR, settings=ChainEqSettings(),
                         reference_spread_db=spread_on_bands(ref, grid, SR),
                         reference_shape_basis_db=shape_basis_on_bands(ref, grid, SR))
    fit_db = eq.fit.response.response_db(CENTRES)
    nmf_db = fit_gain(spectrogram(den), w)
    clean_nmf_db = fit_gain(spectrogram(e.clean), w)  # what the template fit reads from the clean render
    spec = np.fft.rfft(e.clean)
    resp = np.interp(np.log2(np.maximum(np.fft.rfftfreq(e.clean.size, 1.0 / SR), 1e-3)),
                     np.log2(np.maximum(e.response_freqs_hz, 1e-3)), e.response_db)
    filtered_db = fit_gain(spectrogram(np.fft.irfft(spec * 10.0 ** (resp / 20.0), e.clean.size)), w)
    r = {"name": e.name, "nmf_chain_no_noise": skirt_rms(filtered_db, true_db, p.highpass_hz, p.lowpass_hz), "hp": p.highpass_hz, "fit": skirt_rms(fit_db, true_db, p.highpass_hz, p.lowpass_hz),
         "nmf": skirt_rms(nmf_db, true_db, p.highpass_hz, p.lowpass_hz),
         "flat": skirt_rms(np.zeros_like(true_db), true_db, p.highpass_hz, p.lowpass_hz),  # reads no chain
         "nmf_clean_vs_flat": skirt_rms(clean_nmf_db, np.zeros_like(true_db), p.highpass_hz, p.lowpass_hz)}
    results.append(r)
    print(f"{e.name:20s} hp {p.highpass_hz:4.0f} lp {p.lowpass_hz:5.0f}  " + "  ".join(
        f"{k} hp {v[0]:5.2f} {v[1]:+6.2f} lp {v[2]:5.2f} {v[3]:+6.2f}" for k, v in r.items() if k not in ("name", "hp")),
        flush=True)
print("\nmeans over", len(results), "excerpts: RMS / signed error (dB), high-pass skirt then low-pass skirt")
for k in ("fit", "nmf", "flat", "nmf_clean_vs_flat", "nmf_chain_no_noise"):
    v = np.array([r[k] for r in results])
    print(f"  {k:20s} hp {v[:, 0].mean():5.2f} {v[:, 1].mean():+6.2f}   lp {v[:, 2].mean():5.2f} {v[:, 3].mean():+6.2f}")
