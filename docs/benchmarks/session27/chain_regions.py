"""Experiment record (session 27): where the chain EQ's LTAS error lies, per font (session 26's chain cache).

Not shipped code. As floor_regions.py, for the cached piano-ltas chain runs (the chain EQ alone) of
validation excerpts FIRST..N-1 in one font: the denoised input, the chain EQ's output and LTAS-EQ's, each
excerpt's signed error per region around the true cut-offs, then the means.

Usage (from the repository root, PYTHONPATH=docs/benchmarks/session20:.):
    python chain_regions.py CACHE FONT FIRST N        (FONT: - for the held-out one)
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from harness import chain_cases
from regions import RegionTally

from shellac.lab.heldout.runner import ChainRun

cache, font, first, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ltas_key = ChainRun("piano-ltas", {}).key()
chain_key = ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}).key()
tally = RegionTally()
for c in chain_cases(cache, font, first, n):
    e = c.excerpt
    size = e.clean.size

    def mono(folder: str, size: int = size, e: object = e) -> np.ndarray:
        x, _ = sf.read(sorted((e.master.parent / folder).glob("0*-ltas_eq/audio.wav"))[0], dtype="float64")
        return (x if x.ndim == 1 else x.mean(axis=1))[:size]

    rows = {"denoised": c.denoised, "chain": mono(chain_key), "ltas_eq": mono(ltas_key)}
    line = [e.name[:20]]
    for name, y in rows.items():
        rms, per = tally.add(name, e, y)
        line.append(f"{name} {rms:.2f} [" + " ".join(f"{v:+.1f}" for v in per) + "]")
    print("  ".join(line), flush=True)
tally.print(10, 12)
