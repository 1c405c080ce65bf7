"""Experiment record (session 33): `audible_balance.py`'s two measures on `register_oracle.py`'s EQ-step runs.

Not shipped code, no sampling. Reads the `voice-ltas` work folders `register_oracle.py` left in CACHE (the
voice denoise, then the chain EQ against each reference, strength 0.5 and 1) and scores the untouched input,
LTAS-EQ (`voice-ltas`), the denoised input and each EQ step on the pass-band LTAS error and on the same
over the points within 30 dB of the clean render's maximum, with the wins against the input on each.

Usage (PYTHONPATH=.:docs/benchmarks/session33): python audible_oracle.py FIRST END CACHE
"""
import sys
from pathlib import Path

from audible_balance import errors, read, summary
from register_oracle import EQ, SR

from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts


def main() -> None:
    first, end, cache = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    rows: dict[str, list[tuple[float, float]]] = {}
    for e in prepare_excerpts(load_heldout("validation", kind="voice"), end, 5.5, SR, 0, cache, first=first,
                              log=lambda s: None):
        shipped = ChainRun("voice-ltas", {"ltas_eq": {**EQ, "strength": 0.5}})
        rows.setdefault("input", []).append(errors(e, e.degraded[: e.clean.size]))
        rows.setdefault("LTAS-EQ", []).append(errors(e, read(e, ChainRun("voice-ltas"), "x.flac")))
        rows.setdefault("denoised", []).append(errors(e, read(e, shipped, "0*-denoise/audio.wav")))
        for ref in ("shipped", "tracked", "register", "self"):
            for strength in (0.5, 1.0):
                over = {**EQ, "strength": strength}
                if ref != "shipped":
                    over["reference"] = str((cache / "refs" / f"{e.name}-{ref}.json").resolve())
                eq = read(e, ChainRun("voice-ltas", {"ltas_eq": over}), "0*-ltas_eq/audio.wav")
                rows.setdefault(f"{ref}@{strength}", []).append(errors(e, eq))
    summary(rows, first, end)


if __name__ == "__main__":
    main()
