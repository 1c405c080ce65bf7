"""Experiment record (session 18): give the piano generative output back the observation's long-term balance.

Not shipped code; the rule is balance_rule.txt. For each validation excerpt (held-out soundfont,
or FONT) the shipped piano profile is run (or its finished run reused) through the production
chain; its generative output is then re-balanced, per STFT bin of the consistency step, so that in
the bins where the EQ step's output Y holds signal (3 dB above its noise floor) the output's
third-octave-smoothed mean power equals Y's ("observed") or Y's less its noise ("signal"),
within ±6 dB. Scores (LSD, LTAS error) against the clean render, beside the input and the EQ step.

Usage (from a clone at the commit named in the record, so finished runs are reused):
    python balance_validation.py CACHE FONT N MODELS OUT.json   (FONT: - for the held-out soundfont)
"""
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.signal import istft, stft

from shellac.engine.dsp.ltas import third_octave_smooth
from shellac.engine.restoration import consistency as cons
from shellac.lab.heldout.bench import select_rows
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import prepare_excerpts, run_chain, score

LIMIT_DB = 6.0


def rebalanced(y: np.ndarray, g: np.ndarray, sr: int, target: str) -> np.ndarray:
    """``g`` with a fixed gain per bin that gives it ``target``'s smoothed mean power where y holds signal."""
    stats = cons._statistics(y, g)
    holds_signal = cons._above_noise(stats)
    want = stats.observed_power if target == "observed" else np.maximum(stats.observed_power - stats.noise, 0)
    have = third_octave_smooth(stats.generated_power, sr, cons.N_FFT)
    ratio = third_octave_smooth(want, sr, cons.N_FFT) / np.maximum(have, 1e-30)
    limit = 10 ** (LIMIT_DB / 10)
    gain = np.sqrt(np.where(holds_signal & (have > 0), np.clip(ratio, 1 / limit, limit), 1.0))
    frames = {"window": "hann", "nperseg": cons.N_FFT, "noverlap": cons.N_FFT - cons.HOP}
    return istft(gain[:, None] * stft(g, **frames)[2], **frames)[1][: g.size]


cache, font, n, models, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5])
part = load_heldout("validation", kind="piano")
if font != "-":
    part = replace(part, soundfont=find_soundfont(Path(font)))
piano = {r.key: r.run for r in select_rows(["babe2"])}["babe2"]
rows = []
for e in prepare_excerpts(part, n, 5.5, 22050, 0, cache, log=lambda s: None):
    if not (e.master.parent / piano.key() / "x.flac").exists():
        continue  # not run by valgen.py: this record does not sample new excerpts
    run = run_chain(e, piano, models.resolve())
    estimates = {"input": e.degraded[: e.clean.size], "eq_step": run.eq, "shipped": run.generative,
                 "access": run.access,
                 **{f"bal_{t}": rebalanced(run.eq, run.generative, e.sample_rate, t) for t in ("observed", "signal")}}
    row = {"name": e.name, **{k: [score(e, v)[m] for m in ("lsd_db", "ltas_err_db")] for k, v in estimates.items()}}
    rows.append(row)
    print(e.name, {k: [round(a, 3) for a in v] for k, v in row.items() if k != "name"}, flush=True)
out.write_text(json.dumps(rows, indent=1))
print("means over", len(rows), {k: [round(float(np.mean([r[k][j] for r in rows])), 3) for j in (0, 1)]
                                for k in rows[0] if k != "name"})
