"""Experiment record (session 33): the voice denoise's strength against the balance, with and without EQ.

Not shipped code, no sampling. The `voice` profile's denoise (`prop_decrease` 0.7: gated cells keep 30 %)
at 0.7, 0.5, 0.3 and 0 (declicking only), each followed by the voice chain EQ at strength 0 (the denoised
input as it is) and 0.5 (shipped), through the production chain (`voice-ltas` with the voice EQ settings);
`audible_balance.errors`' two measures and the wins against the untouched input on each.

Usage (PYTHONPATH=.:docs/benchmarks/session33): python denoise_strength.py FIRST END CACHE
"""
import sys
from pathlib import Path

import numpy as np
from audible_balance import errors
from register_oracle import EQ, SR

from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts, run_chain


def main() -> None:
    first, end, cache = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    excerpts = prepare_excerpts(load_heldout("validation", kind="voice"), end, 5.5, SR, 0, cache, first=first,
                                log=lambda s: None)
    base = np.array([errors(e, e.degraded[: e.clean.size]) for e in excerpts])
    print(f"{len(excerpts)} excerpts {first}-{end - 1}; untouched input {base[:, 0].mean():.3f} / "
          f"{base[:, 1].mean():.3f} (pass band / within 30 dB of the clean maximum)")
    for prop in (0.7, 0.5, 0.3, 0.0):
        for strength in (0.0, 0.5):
            over = {"denoise": {"prop_decrease": prop, "noise_profile": "quietest", "n_fft": 4096},
                    "ltas_eq": {**EQ, "strength": strength}}
            v = np.array([errors(e, run_chain(e, ChainRun("voice-ltas", over), Path("models")).eq)
                          for e in excerpts])
            w = (v < base).sum(axis=0)
            print(f"prop_decrease {prop:.1f}, EQ strength {strength:.1f}: {v[:, 0].mean():.3f} / "
                  f"{v[:, 1].mean():.3f}   wins {w[0]:2d} / {w[1]:2d}", flush=True)


if __name__ == "__main__":
    main()
