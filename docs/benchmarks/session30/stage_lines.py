"""Experiment record (session 30): session 29's line count at every stage (bared partials or drawn lines).

Not shipped code. For each excerpt of a bench-heldout cache: the line bins (session29/lines.py's test: over
4 dB above the median of the 15 bins around, in the long-term spectrum, above 1.05 x the gate's high
cut-off) of the clean render, the degraded input, the denoise stage's and the EQ step's outputs (of the
first run folder found) and the generative output of each run folder whose name starts with a given prefix.

Usage (PYTHONPATH=docs/benchmarks/session29:docs/benchmarks/session30):
    python stage_lines.py CACHE PREFIX [PREFIX ...]
"""
import sys
from pathlib import Path

import numpy as np
from lines import ltdb, mono
from scipy.ndimage import median_filter
from steady_lines import tally


def count(path: Path, cut_hz: float) -> int:
    f, m = ltdb(mono(str(path)))
    return int(np.count_nonzero((f > 1.05 * cut_hz) & (m - median_filter(m, 15) > 4.0)))


if __name__ == "__main__":
    tally(Path(sys.argv[1]), sys.argv[2:], count, denoise=True)
