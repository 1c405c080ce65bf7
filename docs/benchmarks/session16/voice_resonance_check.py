"""Experiment record (session 16): what the resonance-spacing fix does to the voice profile's EQ step.

Not shipped code; run after the fix was adopted on piano (resonance_rule.txt), to report its effect on
voice, not to choose anything. The `voice` profile's chain EQ (max boost 6 dB, no hiss cut, the singer's
reference) of the cached voice excerpts (denoised signal of their newest `voice` run), with the fit as
before the fix (RESONANCE_SPACING_OCTAVES = 0) and with it, scored against the clean render.
Ran at commit c21cf97 (see resonance_validation.py). Usage: python voice_resonance_check.py CACHE PART N OUT.json   (PART: validation or benchmark)
"""
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.dsp import chain_fit
from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum
from shellac.engine.dsp.chain_eq import ChainEqSettings, design_against
from shellac.engine.dsp.ltas import apply_eq_db
from shellac.engine.models.bundle import read_reference_ltas
from shellac.lab.evaluation.metrics import lsd
from shellac.lab.evaluation.spectral_balance import ltas_error_db
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import prepare_excerpts

cache, part_name, n, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
settings = ChainEqSettings(max_boost_db=6.0, hiss_cut=False)
fixed = chain_fit.RESONANCE_SPACING_OCTAVES
rows = []
for e in prepare_excerpts(load_heldout(part_name, kind="voice"), n, 5.5, 22050, 0, cache, log=lambda s: None):
    sr, size = e.sample_rate, e.clean.size
    runs = sorted((p for p in e.master.parent.glob("voice-*/01-denoise/audio.wav")
                   if not p.parent.parent.name.startswith("voice-ltas")), key=lambda p: p.stat().st_mtime)
    x, _ = sf.read(runs[-1], dtype="float64")
    den = (x if x.ndim == 1 else x.mean(axis=1))[:size]
    reference = read_reference_ltas(Path("models") / e.voice)
    obs = band_spectrum(den, sr, band_grid(sr))
    row = {"name": e.name}
    for name, spacing in (("before", 0.0), ("fixed", fixed)):
        chain_fit.RESONANCE_SPACING_OCTAVES = spacing
        eq = design_against(obs, reference, sr, settings)
        y = apply_eq_db(den, sr, 2048, -eq.gain_on_bins(sr, 2048))
        row[name] = [lsd(e.clean, y), ltas_error_db(e.clean, y, sr, e.response_freqs_hz, e.response_db)]
    chain_fit.RESONANCE_SPACING_OCTAVES = fixed
    row["input"] = [lsd(e.clean, e.degraded[:size]),
                    ltas_error_db(e.clean, e.degraded[:size], sr, e.response_freqs_hz, e.response_db)]
    rows.append(row)
    print(part_name, e.name[:30], {k: [round(v, 2) for v in row[k]] for k in ("input", "before", "fixed")},
          flush=True)
print("MEAN LSD/LTAS", {k: [round(float(np.mean([r[k][i] for r in rows])), 3) for i in (0, 1)]
                        for k in ("input", "before", "fixed")})
out.write_text(json.dumps({"part": part_name, "excerpts": rows}, indent=1))
