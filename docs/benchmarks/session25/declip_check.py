"""Experiment record (session 25): the piano-declip profile's declipping against doing nothing.

Not shipped code; a diagnostic (decides nothing). Per piano validation excerpt i in [FIRST, LAST): the
clean render (5.5 s, 0.5 peak) hard-clipped at a share R of its peak (R in 0.5, 0.7), declipped by the
engine's declip() with the piano-declip profile's declip parameters (the level estimated, as the stage
does) and models/piano. On the clipped samples against the clean render: SNR of the declipped signal
and of the clipped one (doing nothing); and the level error of each on those samples.

Usage: python declip_check.py CACHE FIRST LAST OUT.json   (from a clone's root; its shellac on PYTHONPATH)
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from shellac.engine.models.bundle import load_bundle
from shellac.engine.restoration.declip import declip
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import prepare_excerpts
from shellac.stages.profiles import load_plan

SR = 22050


def snr(clean: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-error ratio, dB."""
    return float(10 * np.log10(np.sum(clean ** 2) / np.sum((estimate - clean) ** 2)))


def level(clean: np.ndarray, estimate: np.ndarray) -> float:
    """Energy of the estimate over the clean signal's, dB."""
    return float(10 * np.log10(np.sum(estimate ** 2) / np.sum(clean ** 2)))


def main() -> None:
    """Declip every excerpt at both clip shares; print and write the scores."""
    cache, first, last, out = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    torch.set_num_threads(1)
    params = next(s.params for s in load_plan("piano-declip").steps if s.stage == "declip")
    bundle = load_bundle(Path("models") / params.model)
    excerpts = prepare_excerpts(load_heldout("validation"), last, 5.5, SR, 0, cache, log=lambda _: None)
    rows = []
    for ex in excerpts[first:last]:
        clean = ex.clean.astype(np.float32)
        for share in (0.5, 0.7):
            c = share * float(np.abs(clean).max())
            given = np.clip(clean, -c, c)
            clipped = np.abs(clean) > c
            work = out.parent / f"{out.stem}-work" / f"{ex.name}-{share}"
            work.mkdir(parents=True, exist_ok=True)
            sf.write(work / "in.wav", given, SR, subtype="FLOAT")
            t0 = time.monotonic()
            result = declip(work / "in.wav", work / "out.wav", bundle, params.declip_settings(),
                            work=work / "e")
            fixed = sf.read(work / "out.wav", dtype="float32")[0]
            a, g, f = (s[clipped].astype(np.float64) for s in (clean, given, fixed))
            row = {"excerpt": ex.name, "share": share, "clipped": int(clipped.sum()),
                   "estimated_level": result.estimate.level, "true_level": c, "restored": result.restored,
                   "snr_nothing_db": snr(a, g), "snr_declipped_db": snr(a, f),
                   "level_nothing_db": level(a, g), "level_declipped_db": level(a, f),
                   "seconds": round(time.monotonic() - t0, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out.write_text(json.dumps(rows, indent=1))
    for share in (0.5, 0.7):
        r = [x for x in rows if x["share"] == share]
        print(f"clip at {share} of the peak ({len(r)}): SNR on the clipped samples, nothing "
              f"{np.mean([x['snr_nothing_db'] for x in r]):+.2f} / declipped "
              f"{np.mean([x['snr_declipped_db'] for x in r]):+.2f} dB (declipped higher on "
              f"{sum(x['snr_declipped_db'] > x['snr_nothing_db'] for x in r)}); level "
              f"{np.mean([x['level_nothing_db'] for x in r]):+.2f} / "
              f"{np.mean([x['level_declipped_db'] for x in r]):+.2f} dB")


if __name__ == "__main__":
    main()
