"""Experiment record (session 30): steady lines beyond the cut-off, frame by frame, per stage.

Not shipped code. A line in session29/lines.py's sense stands out of the long-term spectrum; a bench of
lines 150-300 Hz apart raises the median it is compared with and escapes it, and a sung partial bared by
the dehiss counts as one. Here a bin is a steady line where, in at least half of the STFT frames (1024,
hop 256), its power stands more than 3 dB over the median of the 15 bins around it in that frame: a tone
held through the whole excerpt, pauses included. Counted above 1.05 x the quality gate's high cut-off, in
the clean render, the degraded input, the EQ step's output and the generative output of each run folder
whose name starts with one of the given prefixes (the first one's gate and EQ step are read).

Usage: python steady_lines.py CACHE PREFIX [PREFIX ...]   (e.g. voice-b005 voice-9482: shipped, in-range)
"""
import glob
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.ndimage import median_filter
from scipy.signal import stft


def mono(path: Path) -> np.ndarray:
    x, _ = sf.read(str(path))
    return x if x.ndim == 1 else x.mean(1)


def steady(x: np.ndarray, cut_hz: float, sample_rate: int = 22050) -> int:
    f, _, z = stft(x, fs=sample_rate, nperseg=1024, noverlap=768)
    db = 10 * np.log10(np.abs(z) ** 2 + 1e-20)
    held = np.median(db - median_filter(db, size=(15, 1)), axis=1)
    return int(np.count_nonzero((f > 1.05 * cut_hz) & (held > 3.0)))


def tally(cache: Path, prefixes: list[str], count: Callable[[Path, float], int], *, denoise: bool = False
          ) -> None:
    """Print ``count(signal, cut-off)`` per excerpt and stage, and the totals (shared with stage_lines.py)."""
    total: dict[str, int] = {}
    for ex in sorted((cache / "excerpts").iterdir()):
        runs = [Path(d) for p in prefixes for d in sorted(glob.glob(f"{ex}/{p}*"))]
        if not runs:
            continue
        gate = next(runs[0].glob("0*-generative_eq")) / "quality_gate.json"
        cut = json.loads(gate.read_text())["high_cutoff_hz"]
        signals = {"clean": cache / "renders" / f"{ex.name.split('-')[-2]}.wav", "input": ex / "master.wav"}
        if denoise:
            signals["denoise"] = next(runs[0].glob("0*-denoise")) / "audio.wav"
        signals["eq"] = next(runs[0].glob("0*-ltas_eq")) / "audio.wav"
        signals.update({r.name[:10]: next(r.glob("0*-generative_eq")) / "audio.wav" for r in runs})
        line = f"{ex.name[:26]:26s}"
        for name, path in signals.items():
            n = count(path, cut)
            total[name] = total.get(name, 0) + n
            line += f" {name} {n:3d}"
        print(line)
    print(total)


if __name__ == "__main__":
    tally(Path(sys.argv[1]), sys.argv[2:], lambda path, cut: steady(mono(path), cut))
