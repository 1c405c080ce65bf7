"""Experiment record (session 26): what a burst of short dropouts cost LSAR before stretches were bounded.

Not shipped code. A 3 s harmonic tone (220 Hz, 11 partials) at 44.1 kHz, one channel, with five 20 ms
dropouts of exact zeros 15 ms apart (each under the piano profiles' 50 ms, together a 160 ms stretch,
one cluster since 15 ms is under LSAR's 23.2 ms order), filled by
`shellac.engine.dsp.lsar_file.lsar_fill_file` as `inpaint()` routed it before session 26 (every run
<= lsar_max_ms went to LSAR); prints the seconds and which runs `inpaint()`'s rule now sends to LSAR
(peak memory from `/usr/bin/time -v`).

Usage: OMP_NUM_THREADS=1 /usr/bin/time -v python burst_cost.py OUT_DIR
"""
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.dsp.lsar_file import LsarSettings, clusters, lsar_fill_file

out = Path(sys.argv[1])
sr = 44100
t = np.arange(3 * sr) / sr
x = sum(0.1 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 12)).astype(np.float32)
runs = [(sr + k * int(0.035 * sr), int(0.02 * sr)) for k in range(5)]
for start, length in runs:
    x[start:start + length] = 0.0
sf.write(out / "burst.wav", x, sr, subtype="FLOAT")
order = LsarSettings().samples(sr)[0]
groups = clusters(runs, order)
span = sum(groups[0][-1]) - groups[0][0][0]
print("clusters:", len(groups), "span:", span, "samples =", round(1000 * span / sr, 1), "ms")
t0 = time.time()
lsar_fill_file(out / "burst.wav", runs, out / "filled.wav", LsarSettings())
print("LSAR over the stretch:", round(time.time() - t0, 1), "s")
