"""Experiment record (session 25): dropouts at a recording's end, filled by the inpainting engine.

Not shipped code. Rule: docs/benchmarks/session25/end_gap_rule.txt. Runs the engine's inpainting
(`shellac.engine.restoration.inpaint.inpaint`, the `inpaint` stage's defaults via `InpaintParams`)
from whatever `shellac` is on PYTHONPATH, so the shipped and candidate clones run the same script.

Per validation excerpt i in [FIRST, LAST): the clean render, cut to a length drawn in [4.0, 5.5] s
(so the last block's valid part takes every length), and two dropouts of exact zeros drawn from
rng [0, i, 25], each its own recording: `end`, 10-40 ms running to the recording's last sample;
`near`, 10-40 ms ending 10-300 ms before it. Scores on the gap's samples against the clean render:
SNR (dB) and level error (fill energy over clean energy, dB); checks that every sample outside
the flagged run is the input's, bit for bit.

Usage: python end_gap.py run CACHE piano|voice FIRST LAST OUT.json
       python end_gap.py verdict SHIPPED.json CANDIDATE.json [...pairs]
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

SR, SECONDS, SEED = 22050, 5.5, 0
NEAR_SNR_MEAN_DB, NEAR_SNR_WORST_DB = 0.5, 3.0
END_SNR_MEAN_DB = 1.0


def _gaps(i: int, n: int) -> dict[str, tuple[int, int]]:
    rng = np.random.default_rng([SEED, i, 25])
    end_len = int(rng.uniform(0.010, 0.040) * SR)
    near_len = int(rng.uniform(0.010, 0.040) * SR)
    near_d = int(rng.uniform(0.010, 0.300) * SR)
    return {"end": (n - end_len, end_len), "near": (n - near_d - near_len, near_len)}


def run(cache: Path, kind: str, first: int, last: int, out: Path) -> None:
    """Fill both dropouts of excerpts FIRST..LAST-1 and write their scores to OUT."""
    from shellac.engine.models.bundle import load_bundle
    from shellac.engine.restoration.inpaint import inpaint
    from shellac.lab.heldout.material import load_heldout
    from shellac.lab.heldout.runner import prepare_excerpts
    from shellac.stages.inpaint import InpaintParams

    torch.set_num_threads(1)
    excerpts = prepare_excerpts(load_heldout("validation", kind=kind), last, SECONDS, SR, SEED, cache,
                                log=lambda _: None)
    rows = []
    for i in range(first, last):
        ex = excerpts[i]
        n = int(np.random.default_rng([SEED, i, 24]).uniform(4.0, SECONDS) * SR)
        clean = ex.clean[:n].astype(np.float32)
        model = ex.voice or "piano"
        bundle = load_bundle(Path("models") / model)
        settings = InpaintParams(model=model, detect_dropouts=False).inpaint_settings()
        for case, (start, length) in _gaps(i, n).items():
            work = out.parent / f"{out.stem}-work" / f"{ex.name}-{case}"
            work.mkdir(parents=True, exist_ok=True)
            given = clean.copy()
            given[start:start + length] = 0.0
            src, dst = work / "input.wav", work / "filled.wav"
            sf.write(src, given, SR, subtype="FLOAT")
            t0 = time.monotonic()
            result = inpaint(src, dst, bundle, [(start, length)], settings, work=work / "engine")
            seconds = time.monotonic() - t0
            filled = sf.read(dst, dtype="float32")[0]
            (run_start, run_len), = result.filled
            outside = np.ones(n, dtype=bool)
            outside[run_start:run_start + run_len] = False
            c = clean[start:start + length].astype(np.float64)
            e = filled[start:start + length].astype(np.float64)
            row = {"excerpt": ex.name, "case": case, "model": model, "length_samples": n,
                   "gap_start": start, "gap_length": length, "from_end_samples": n - start - length,
                   "snr_db": float(10 * np.log10(np.sum(c ** 2) / max(np.sum((e - c) ** 2), 1e-30))),
                   "level_db": float(10 * np.log10(max(np.sum(e ** 2), 1e-30) / np.sum(c ** 2))),
                   "outside_identical": bool(np.array_equal(filled[outside], given[outside])),
                   "seconds": round(seconds, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out.write_text(json.dumps({"kind": kind, "first": first, "last": last, "rows": rows}, indent=1))


def verdict(pairs: list[tuple[Path, Path]]) -> None:
    """Per case and kind: the two variants' SNR and level error; the rule's bars."""
    ok = True
    for shipped_path, candidate_path in pairs:
        shipped, candidate = (json.loads(p.read_text()) for p in (shipped_path, candidate_path))
        kind = shipped["kind"]
        for case in ("near", "end"):
            s = [r for r in shipped["rows"] if r["case"] == case]
            c = [r for r in candidate["rows"] if r["case"] == case]
            assert [r["excerpt"] for r in s] == [r["excerpt"] for r in c]
            # A gap where the clean render is silent (a sung line ended) has no SNR or level error:
            # left out of both variants' means (amendment: found in the shipped voice run's rows).
            silent = [a["excerpt"] for a in s if not np.isfinite(a["snr_db"])]
            if silent:
                print(f"{kind} {case}: clean silent in the gap, left out: {', '.join(silent)}")
            s, c = zip(*[(a, b) for a, b in zip(s, c, strict=True) if np.isfinite(a["snr_db"])], strict=True)
            for a, b in zip(s, c, strict=True):
                print(f"{kind:5s} {case:4s} {a['excerpt'][:34]:34s} {a['gap_length']:4d} smp, "
                      f"{a['from_end_samples']:5d} from the end: "
                      f"SNR {a['snr_db']:+6.2f} -> {b['snr_db']:+6.2f}, "
                      f"level {a['level_db']:+6.2f} -> {b['level_db']:+6.2f} dB")
            d = np.array([b["snr_db"] - a["snr_db"] for a, b in zip(s, c, strict=True)])
            lev = [np.mean([abs(r["level_db"]) for r in rows]) for rows in (s, c)]
            identical = all(r["outside_identical"] for r in s + c)
            print(f"{kind} {case}: mean SNR {np.mean([r['snr_db'] for r in s]):+.2f} -> "
                  f"{np.mean([r['snr_db'] for r in c]):+.2f} (change {d.mean():+.2f}, worst {d.min():+.2f}); "
                  f"mean |level error| {lev[0]:.2f} -> {lev[1]:.2f} dB; "
                  f"outside the gap identical: {identical}")
            if case == "near":
                passed = d.mean() >= -NEAR_SNR_MEAN_DB and d.min() >= -NEAR_SNR_WORST_DB
            else:
                passed = d.mean() >= -END_SNR_MEAN_DB and lev[1] <= lev[0]
            passed = passed and identical
            print(f"{kind} {case}: {'passes' if passed else 'FAILS'}")
            ok = ok and passed
    print("verdict:", "the candidate passes" if ok else "the candidate fails")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), Path(sys.argv[6]))
    else:
        args = [Path(a) for a in sys.argv[2:]]
        verdict(list(zip(args[::2], args[1::2], strict=True)))
