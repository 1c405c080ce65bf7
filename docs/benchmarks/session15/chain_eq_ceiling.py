"""Experiment record (session 15): how far the shipped chain EQ is from what a perfect reference would allow.
import json, sys
from dataclasses import replace
from pathlib import Path
import numpy as np
import soundfile as sf
from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum, ltas_on_bands, spread_on_bands
from shellac.engine.dsp.chain_eq import design_chain_eq
from shellac.engine.dsp.ltas import apply_eq_db
from shellac.engine.models.bundle import read_reference_ltas
from shellac.lab.evaluation.metrics import lsd
from shellac.lab.evaluation.spectral_balance import ltas_error_db
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts

cache, font, first, n, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
partname = sys.argv[6] if len(sys.argv) > 6 else "validation"
ref = read_reference_ltas(Path("models/piano"))
chain_key = ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}).key()
ltas_key = ChainRun("piano-ltas", {}).key()
part = load_heldout(partname, kind="piano")
if font != "-":
    part = replace(part, soundfont=find_soundfont(Path(font)))
rows = []
for e in prepare_excerpts(part, n, 5.5, 22050, 0, cache, log=lambda s: None)[first:]:
    sr, size = e.sample_rate, e.clean.size
    def mono(path):
        x, _ = sf.read(path, dtype="float64")
        return (x if x.ndim == 1 else x.mean(axis=1))[:size]
    def score(y):
        return [lsd(e.clean, y), ltas_error_db(e.clean, y, sr, e.response_freqs_hz, e.response_db)]
    den = mono(e.master.parent / chain_key / "01-denoise" / "audio.wav")
    ltas = mono(sorted((e.master.parent / ltas_key).glob("0*-ltas_eq/audio.wav"))[0])
    grid = band_grid(sr)
    obs = band_spectrum(den, sr, grid)
    refp = ltas_on_bands(ref, grid, sr)
    spread = spread_on_bands(ref, grid, sr)
    cleanp = band_spectrum(e.clean, sr, grid).mean_power
    f = grid.centres_hz
    x = np.log2(f / 1000.0)
    d = 10*np.log10(cleanp) - 10*np.log10(refp)
    w = (f > 100) & (f < 8000)
    A = np.stack([np.ones(w.sum()), x[w]], 1)
    coef = np.linalg.lstsq(A, d[w], rcond=None)[0]
    tilt = coef[1]
    reft = refp * 10 ** (tilt * x / 10)
    row = {"name": e.name, "tilt": float(tilt), "input": score(e.degraded[:size]), "ltas_eq": score(ltas)}
    for name, (rp, sp) in {"shipped": (refp, spread), "oracle_tilt": (reft, spread), "oracle_clean": (cleanp, None)}.items():
        eq = design_chain_eq(obs, rp, sr, reference_spread_db=sp)
        row[name] = score(apply_eq_db(den, sr, 2048, -eq.gain_on_bins(sr, 2048)))
    rows.append(row)
    print(font[:8], e.name[:20], f"tilt {tilt:+.2f}", {k: [round(v, 2) for v in row[k]] for k in ("input", "ltas_eq", "shipped", "oracle_tilt", "oracle_clean")}, flush=True)
keys = ("input", "ltas_eq", "shipped", "oracle_tilt", "oracle_clean")
print("MEAN", {k: [round(float(np.mean([r[k][i] for r in rows])), 3) for i in (0, 1)] for k in keys})
out.write_text(json.dumps({"font": font, "rows": rows}, indent=1))
