"""Experiment record (session 32): a band-only fallback for the voice quality gate, on spent excerpts.

Not shipped code, no rule: an exploration to decide whether a rule is worth its run. For every excerpt a
report's gate sent back to its EQ step, the generative output (`generative_rejected.wav` in the cached run
folder) with only the offending band taken from the EQ step: below the gate's low cut-off for a
`low_band_excess_db` alarm, above its high cut-off for a `high_band_excess_db` one (STFT, a crossfade over one
third of an octave on each side of the cut-off). Scored with the benchmark's own `score` against the clean
render, beside the generative output and the EQ step (the shipped fallback).

Usage (PYTHONPATH=.): python band_fallback.py REPORT.json CACHE [REPORT.json CACHE ...]
"""
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import istft, stft

from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import prepare_excerpts, score

N_FFT = 2048


def splice(gen: np.ndarray, eq: np.ndarray, sr: int, cutoff: float, below: bool) -> np.ndarray:
    """``gen`` with the band below (or above) ``cutoff`` taken from ``eq``, crossfaded in log frequency."""
    f, _, g = stft(gen, sr, nperseg=N_FFT)
    _, _, e = stft(eq, sr, nperseg=N_FFT)
    octaves = np.log2(np.maximum(f, 1.0) / cutoff)
    eq_weight = np.clip(0.5 - octaves * 3.0, 0.0, 1.0)  # 1 a third-octave under, 0 a third-octave over
    if not below:
        eq_weight = 1.0 - eq_weight
    _, out = istft(eq_weight[:, None] * e + (1.0 - eq_weight[:, None]) * g, sr, nperseg=N_FFT)
    return np.pad(out, (0, max(0, gen.size - out.size)))[: gen.size]


def mono(path: Path, n: int) -> np.ndarray:
    data, _ = sf.read(path, dtype="float64", always_2d=True)
    return np.pad(data.mean(axis=1), (0, max(0, n - data.shape[0])))[:n]


part = load_heldout("validation", kind="voice")
totals = {"splice": [], "eq_step": [], "generative": []}
for report_path, cache in zip(sys.argv[1::2], sys.argv[2::2], strict=True):
    report = json.loads(Path(report_path).read_text())
    settings = report["settings"]
    excerpts = {e.name: e for e in prepare_excerpts(part, settings["excerpts"], settings["seconds"],
                                                    settings["sample_rate"], settings["seed"], Path(cache),
                                                    first=settings["first"], log=lambda s: None)}
    for row in report["excerpts"]:
        gate = row["gates"]["babe2_gated"]
        if not gate["fallback"]:
            continue
        excerpt = excerpts[row["name"]]
        work = next(p for p in excerpt.master.parent.glob("voice-*") if not p.name.startswith("voice-ltas"))
        n = excerpt.clean.size
        gen = mono(work / "03-generative_eq" / "generative_rejected.wav", n)
        eq = mono(work / "02-ltas_eq" / "audio.wav", n)
        fired = [c["name"] for c in gate["checks"] if not c["passed"]]
        out = gen
        if "low_band_excess_db" in fired:
            out = splice(out, eq, excerpt.sample_rate, gate["low_cutoff_hz"], below=True)
        if "high_band_excess_db" in fired:
            out = splice(out, eq, excerpt.sample_rate, gate["high_cutoff_hz"], below=False)
        scores = {"splice": score(excerpt, out), "eq_step": row["scores"]["eq_step"],
                  "generative": row["scores"]["babe2"]}
        check = score(excerpt, gen)  # the cached output scores as the report did
        assert abs(check["lsd_db"] - scores["generative"]["lsd_db"]) < 1e-6, (row["name"], check["lsd_db"])
        for k, v in scores.items():
            totals[k].append(v)
        figures = "  ".join(f"{k} {v['lsd_db']:5.2f}/{v['ltas_err_db']:5.2f}/{v['low_band_db']:+6.2f}/"
                            f"{v['high_band_db']:+6.2f}" for k, v in scores.items())
        print(f"{Path(report_path).stem:22s} {row['name'][:30]:30s} {'+'.join(fired):20s} {figures}")
print("LSD / LTAS error / below the low cut / above the high cut vs clean, means over", len(totals["splice"]))
for k, rows in totals.items():
    print(f"  {k:10s} " + " / ".join(f"{np.mean([r[m] for r in rows]):.3f}"
                                      for m in ("lsd_db", "ltas_err_db", "low_band_db", "high_band_db")))
