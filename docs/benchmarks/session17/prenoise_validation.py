"""Experiment record (session 17): the chain EQ designed on the observation before denoising, applied to the
denoised signal, against the shipped design (both on the denoised signal); validation excerpts; rule in
prenoise_rule.txt. Not shipped code.

The cache must hold the excerpts and their piano-ltas runs, as left by
    shellac bench-heldout --part validation [--soundfont F] --excerpts N --rows input,ltas_eq,chain_eq \\
        --visqol off --plots 0 --cache CACHE
Usage (from the repository root):
    python prenoise_validation.py CACHE FONT FIRST N OUT.json   (FONT: - for the held-out one)
../session16/summarise.py prints the means of its outputs.
"""
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum
from shellac.engine.dsp.chain_eq import ChainEqSettings, design_against
from shellac.engine.dsp.ltas import apply_eq_db
from shellac.engine.models.bundle import read_reference_ltas
from shellac.lab.evaluation.metrics import lsd
from shellac.lab.evaluation.spectral_balance import ltas_error_db
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts

cache, font, first, n, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
reference = read_reference_ltas(Path("models/piano"))
chain_key = ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}).key()
ltas_key = ChainRun("piano-ltas", {}).key()
settings = ChainEqSettings()
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
    raw = mono(e.master.parent / chain_key / "00-ingest" / "audio.wav")
    ltas = mono(sorted((e.master.parent / ltas_key).glob("0*-ltas_eq/audio.wav"))[0])
    row = {"name": e.name, "input": score(e.degraded[:size]), "ltas_eq": score(ltas)}
    for name, observed in (("shipped", den), ("prenoise", raw)):
        eq = design_against(band_spectrum(observed, sr, band_grid(sr)), reference, sr, settings)
        row[name] = score(apply_eq_db(den, sr, 2048, -eq.gain_on_bins(sr, 2048)))
    rows.append(row)
    print(font[-14:], e.name[:20], {k: [round(v, 2) for v in row[k]] for k in row if k != "name"}, flush=True)
keys = ("input", "ltas_eq", "shipped", "prenoise")
print("MEAN LSD/LTAS", {k: [round(float(np.mean([r[k][i] for r in rows])), 3) for i in (0, 1)] for k in keys})
out.write_text(json.dumps({"font": font, "first": first, "excerpts": rows}, indent=1))
