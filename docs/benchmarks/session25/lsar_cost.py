"""Experiment record (session 25): what one 50 ms LSAR run costs by sample rate (docs/architecture.md).

Not shipped code. A 3 s harmonic tone (220 Hz, 11 partials) with one 50 ms dropout of exact zeros at
1 s, one channel, filled by `shellac.engine.dsp.lsar_file.lsar_fill_file` with the default
LsarSettings at 44.1 and 96 kHz; prints the seconds of each (peak memory from `/usr/bin/time -v`).

Usage: OMP_NUM_THREADS=1 /usr/bin/time -v python lsar_cost.py OUT_DIR
"""
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.dsp.lsar_file import LsarSettings, lsar_fill_file

out = Path(sys.argv[1])
for sr in (44100, 96000):
    t = np.arange(3 * sr) / sr
    x = sum(0.1 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 12)).astype(np.float32)
    runs = [(sr, int(0.05 * sr))]
    x[sr:sr + runs[0][1]] = 0.0
    sf.write(out / "tone.wav", x, sr, subtype="FLOAT")
    t0 = time.time()
    lsar_fill_file(out / "tone.wav", runs, out / "filled.wav", LsarSettings())
    print(sr, "Hz:", round(time.time() - t0, 1), "s")
