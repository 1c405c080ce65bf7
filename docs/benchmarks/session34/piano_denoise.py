"""Experiment record (session 34): the piano EQ step, its noise sample from each band's own pauses; DSP only.

Not shipped code, no sampling. The `piano` profile's EQ step (`piano-ltas` with `ltas_eq.method = chain`,
the `chain_eq` row of bench-heldout) after its denoise with the noise sample from the quietest frames
(shipped) or from minimum statistics (`noise_profile = "minimum"`, also slope-limited to 6 dB per octave,
`noise_floor_slope_db`), against the untouched input and LTAS-EQ
(`piano-ltas` as shipped): mean pass-band LTAS error, the same within 30 dB of the clean maximum, LSD,
energy below the low cut-off and above the high cut-off vs clean; wins against the input and LTAS-EQ on
LTAS error and LSD.

Usage (PYTHONPATH=.): python piano_denoise.py FIRST END CACHE
"""
import sys
from pathlib import Path

import numpy as np

from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts, run_chain, score

SR = 22050
KEYS = ("ltas_err_db", "ltas_err_within30_db", "lsd_db", "low_band_db", "high_band_db")


def figures(e, estimate: np.ndarray) -> list[float]:  # type: ignore[no-untyped-def]
    """The five figures of KEYS."""
    s = score(e, estimate)
    return [s[k] for k in KEYS]


def main() -> None:
    first, end, cache = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    excerpts = prepare_excerpts(load_heldout("validation"), end, 5.5, SR, 0, cache, first=first,
                                log=lambda s: None)
    base = np.array([figures(e, e.degraded[: e.clean.size]) for e in excerpts])
    ltas = np.array([figures(e, run_chain(e, ChainRun("piano-ltas"), Path("models")).access)
                     for e in excerpts])
    print(f"{len(excerpts)} excerpts {first}-{end - 1}: " + ", ".join(KEYS)
          + "; wins on LTAS error / LSD against the input, then LTAS-EQ")
    for label, v in (("untouched input", base), ("LTAS-EQ (piano-ltas)", ltas)):
        print(f"{label:30s} " + " ".join(f"{m:7.3f}" for m in v.mean(axis=0)))
    for profile, slope in (("quietest", None), ("minimum", None), ("minimum", 6.0)):
        denoise = {"noise_profile": profile, **({} if slope is None else {"noise_floor_slope_db": slope})}
        over = {"denoise": denoise, "ltas_eq": {"method": "chain"}}
        v = np.array([figures(e, run_chain(e, ChainRun("piano-ltas", over), Path("models")).access)
                      for e in excerpts])
        wins = [(v[:, k] < b[:, k]).sum() for b in (base, ltas) for k in (0, 2)]
        label = f"chain EQ, {profile}" + ("" if slope is None else f" {slope:g} dB/oct")
        print(f"{label:30s} " + " ".join(f"{m:7.3f}" for m in v.mean(axis=0))
              + "   wins " + " / ".join(f"{w:2d}" for w in wins), flush=True)


if __name__ == "__main__":
    main()
