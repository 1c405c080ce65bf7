"""Experiment record (session 29): narrow steady peaks ("lines") beyond a recording's cut-off, per stage.

Not shipped code. For each excerpt's run folder RUN* (not the -ltas ones) in a bench-heldout cache:
the long-term spectrum (STFT 1024, hop 256) of the EQ step's output, of the generative stage's output
and of its raw sampled blocks (before the consistency step); a bin is a line where it stands more than
4 dB over the median of the 15 bins around it; counted above 1.05 x the quality gate's high cut-off
(the band the consistency step generates). Prints per excerpt: line bins and the largest one.

Usage: python lines.py CACHE RUN     (RUN: a run-folder prefix, e.g. voice-b for both singers' shipped runs)
"""
import glob
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from scipy.ndimage import median_filter
from scipy.signal import stft


def ltdb(x: np.ndarray, sr: int = 22050) -> tuple[np.ndarray, np.ndarray]:
    f, _, z = stft(x, fs=sr, nperseg=1024, noverlap=768)
    return f, 10 * np.log10((np.abs(z) ** 2).mean(1) + 1e-20)


def mono(path: str) -> np.ndarray:
    x, _ = sf.read(path)
    return x if x.ndim == 1 else x.mean(1)


def line_bins(run_dir: Path) -> dict[str, tuple[int, float, float]]:
    """Per signal ("eq", "gen", "raw"): line bins beyond the cut-off, the largest's height (dB) and its Hz."""
    g = next(run_dir.glob("0*-generative_eq"))
    e = next(run_dir.glob("0*-ltas_eq"))
    raw = np.concatenate([torch.load(b, map_location="cpu", weights_only=False)["audio"].numpy().reshape(-1)
                          for b in sorted(g.glob("blocks/block_*.pt"))])
    cut = json.loads((g / "quality_gate.json").read_text())["high_cutoff_hz"]
    out = {}
    for name, x in [("eq", mono(str(e / "audio.wav"))), ("gen", mono(str(g / "audio.wav"))), ("raw", raw)]:
        f, m = ltdb(x)
        peak = m - median_filter(m, 15)
        sel = f > cut * 1.05
        top = int(np.argmax(np.where(sel, peak, -99)))
        out[name] = (int(np.sum(peak[sel] > 4.0)), float(peak[top]), float(f[top]))
    return out


if __name__ == "__main__":
    cache, run = sys.argv[1], sys.argv[2]
    total = {"eq": 0, "gen": 0, "raw": 0}
    for d in sorted(x for x in glob.glob(f"{cache}/excerpts/*/{run}*") if "-ltas" not in x.split("/")[-1]):
        counts = line_bins(Path(d))
        line = d.split("/")[-2][:26]
        for name, (n, height, hz) in counts.items():
            total[name] += n
            line += f" | {name} {n:3d} bins>4dB, max {height:4.1f} dB at {hz:5.0f} Hz"
        print(line, flush=True)
    print(total)
