"""Experiment record (session 27): where the access copies' LTAS error lies, shipped and candidates.

Not shipped code. For validation excerpts FIRST..N-1 of CACHE, the benchmark's LTAS-error curve (pass band,
mean removed; `ltas_error_db`'s own quantities) of the piano EQ step and of the access copy of the shipped
run and of each candidate (--set items, one candidate per argument, items joined by commas), cut into
regions around the true chain's cut-offs: mean squared error per region (dB^2) and mean signed error.

Usage (from the repository root):
    python floor_regions.py CACHE FIRST N "generative_eq.consistency_floor_db=10" ...
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from regions import RegionTally

from shellac.lab.heldout.bench import with_overrides
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import RECORDING_ID, ChainRun, prepare_excerpts
from shellac.stages.profiles import parse_sets

cache, first, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
shipped = ChainRun("piano").key()
runs = {"shipped": shipped}
for spec in sys.argv[4:]:
    runs[spec.split(".")[-1]] = with_overrides(ChainRun("piano"), parse_sets(spec.split(","))).key()
part = load_heldout("validation", kind="piano")
tally = RegionTally()
for e in prepare_excerpts(part, n, 5.5, 22050, 0, cache, first=first, log=lambda s: None):
    size = e.clean.size

    def mono(path: Path, size: int = size) -> np.ndarray:
        x, _ = sf.read(path, dtype="float64")
        return (x if x.ndim == 1 else x.mean(axis=1))[:size]

    rows = {"eq_step": mono(e.master.parent / shipped / "02-ltas_eq" / "audio.wav")}
    rows.update({k: mono(e.master.parent / v / f"{RECORDING_ID}.flac") for k, v in runs.items()})
    line = [e.name[:22]]
    for name, y in rows.items():
        rms, _ = tally.add(name, e, y)
        line.append(f"{name} {rms:.2f}")
    print("  ".join(line), flush=True)
tally.print(24, 11)
