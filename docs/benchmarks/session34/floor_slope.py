"""Experiment record (session 34): the `minimum` noise floor with a slope limit, the voice EQ step; DSP only.

Not shipped code, no sampling. As balance_denoise.py (the voice profile's denoise at prop_decrease 0.7, then
the voice chain EQ at strength 0.5, through `voice-ltas`), for `noise_profile = "minimum"` with
`noise_floor_slope_db` off and at each SLOPE given.

Usage (PYTHONPATH=.:docs/benchmarks/session33:docs/benchmarks/session34):
    python floor_slope.py FIRST END CACHE SLOPE[,SLOPE...]
"""
import sys
from pathlib import Path

import numpy as np
from balance_denoise import excerpts_and_input, figures
from register_oracle import EQ

from shellac.lab.heldout.runner import ChainRun, run_chain


def main() -> None:
    first, end, cache = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    slopes = [None, *(float(s) for s in sys.argv[4].split(","))]
    excerpts, base = excerpts_and_input(first, end, cache)
    for slope in slopes:
        denoise = {"prop_decrease": 0.7, "noise_profile": "minimum", "n_fft": 4096,
                   **({} if slope is None else {"noise_floor_slope_db": slope})}
        run = ChainRun("voice-ltas", {"denoise": denoise, "ltas_eq": {**EQ, "strength": 0.5}})
        v = np.array([figures(e, run_chain(e, run, Path("models")).eq) for e in excerpts])
        w = (v[:, :3] < base[:, :3]).sum(axis=0)
        label = f"minimum, slope {'off' if slope is None else f'{slope:g} dB/oct'}, EQ 0.5"
        print(f"{label:34s} " + " ".join(f"{m:7.3f}" for m in v.mean(axis=0))
              + f"   wins {w[0]:2d} / {w[1]:2d} / {w[2]:2d}", flush=True)


if __name__ == "__main__":
    main()
