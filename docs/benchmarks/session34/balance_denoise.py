"""Experiment record (session 34): the voice denoise's noise estimate and its long-term balance, DSP only.

Not shipped code, no sampling. The `voice` profile's denoise (prop_decrease 0.7) with its noise sample
from the quietest frames (shipped) or from each band's own quietest tenth (`noise_profile = "minimum"`,
shellac.engine.dsp.noise_floor), with and without `restore_balance` (shellac.engine.dsp.gate_balance),
each followed by the voice chain EQ at strength 0
(the denoised input as it is) and 0.5 (shipped), through the production chain (`voice-ltas` with the
voice EQ settings). Per row: mean pass-band LTAS error, the same within 30 dB of the clean maximum
(session 33's measure beside it), LSD, energy below the low cut-off and above the high cut-off vs clean,
and the wins against the untouched input on the two LTAS measures and on LSD.

Restore rows run at commit f4d9a40 only: `restore_balance` was removed in the next commit (it moved the
pass-band LTAS error by 0.03 dB: its clean estimate, input less noise sample, is wrong in the same bands as
the gate with the quietest sample, and with the minimum sample the gate cuts little). The minimum rows of
balance_denoise-322.log ran with a 10 s synthesised noise sample (before f4d9a40 made it as long as the
quietest sample, 0.55 s on these excerpts); the *-short logs are f4d9a40's.

Usage (PYTHONPATH=.:docs/benchmarks/session33): python balance_denoise.py FIRST END CACHE [CONFIGS]
CONFIGS: comma-separated profile:restore:strength[:prop_decrease], e.g. quietest:off:0.5,minimum:off:0.5:0.8
(default: all eight, prop_decrease 0.7).
"""
import sys
from pathlib import Path

import numpy as np
from audible_balance import errors
from register_oracle import EQ, SR

from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts, run_chain, score


def figures(e, estimate: np.ndarray) -> list[float]:  # type: ignore[no-untyped-def]
    """Pass-band LTAS error, the 30 dB one, LSD, low band, high band."""
    s = score(e, estimate)
    return [*errors(e, estimate), s["lsd_db"], s["low_band_db"], s["high_band_db"]]


def excerpts_and_input(first: int, end: int, cache: Path) -> tuple[list, np.ndarray]:
    """The sung validation excerpts FIRST..END-1 and the untouched input's figures; prints the header."""
    excerpts = prepare_excerpts(load_heldout("validation", kind="voice"), end, 5.5, SR, 0, cache, first=first,
                                log=lambda s: None)
    base = np.array([figures(e, e.degraded[: e.clean.size]) for e in excerpts])
    print(f"{len(excerpts)} excerpts {first}-{end - 1}: LTAS error pass band / within 30 dB, LSD, "
          f"low band, high band (dB vs clean); wins against the untouched input on the first three")
    print(f"{'untouched input':34s} " + " ".join(f"{m:7.3f}" for m in base.mean(axis=0)))
    return excerpts, base


def main() -> None:
    first, end, cache = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    excerpts, base = excerpts_and_input(first, end, cache)
    configs = ([(f[0], f[1] == "on", float(f[2]), float(f[3]) if len(f) > 3 else 0.7)
                for f in (c.split(":") for c in sys.argv[4].split(","))]
               if len(sys.argv) > 4 else
               [(p, r, s, 0.7) for p in ("quietest", "minimum") for r in (False, True) for s in (0.0, 0.5)])
    for profile, restore, strength, prop in configs:
        over = {"denoise": {"prop_decrease": prop, "noise_profile": profile, "n_fft": 4096,
                            **({"restore_balance": True} if restore else {})},
                "ltas_eq": {**EQ, "strength": strength}}
        v = np.array([figures(e, run_chain(e, ChainRun("voice-ltas", over), Path("models")).eq)
                      for e in excerpts])
        w = (v[:, :3] < base[:, :3]).sum(axis=0)
        label = f"{profile}, restore {'on ' if restore else 'off'}, EQ {strength:.1f}" + (
            f", prop {prop:.2f}" if prop != 0.7 else "")
        print(f"{label:34s} " + " ".join(f"{m:7.3f}" for m in v.mean(axis=0))
              + f"   wins {w[0]:2d} / {w[1]:2d} / {w[2]:2d}", flush=True)


if __name__ == "__main__":
    main()
