"""Experiment record (session 26): the `inpaint` engine's fill of 75-400 ms dropouts, one clone's code.

Not shipped code. Rule: docs/benchmarks/session26/warm_rule.txt. Per piano validation excerpt i in
[FIRST, LAST) (the clean render, warm_gap.clean_excerpt) and gap length L in LENGTHS_MS: one dropout of
exact zeros of L ms starting at a point drawn in [1.0, 4.0] s from rng [0, i, 29, L], filled by the
engine's inpaint() with the `piano-declip` profile's inpaint parameters (dropout detection off) and
models/piano, from whatever `shellac` is on PYTHONPATH; with WARM_SIGMA given, also
lsar_warm_max_ms = 200 (rule 3: 110) and lsar_warm_sigma = WARM_SIGMA (the candidate's parameters). Scored on the gap's
samples against the clean render as session 25's gap_sweep.py scores them. `verdict` applies the rule.

Usage: python warm_rule.py run CACHE FIRST LAST OUT.json [WARM_SIGMA]
       python warm_rule.py verdict SHIPPED.json CANDIDATE.json [CANDIDATE.json ...]
       run3 / verdict3: rule 3 (warm_rule3.txt): gaps of 75, 100 (warm-started) and 150 ms (identical),
       lsar_warm_max_ms 110, positions from rng [0, i, 31, L]
(PYTHONPATH=CLONE:docs/benchmarks/session25:docs/benchmarks/session26, from the clone's root)
"""
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from gap_sweep import scores
from warm_gap import SR, clean_excerpt

SEED = 0
SNR_GAIN_DB, LEVEL_SLACK_DB, SPECTRUM_GAIN_DB = 3.0, 0.25, 0.5
# per rule: the gap lengths, those the candidate warm-starts (the rest must come out identical), its
# lsar_warm_max_ms and the rng stream of the gap positions. Rule 2 meant 200 ms to be warm-started,
# but with the stage's 0.5 ms margins that gap is 201 ms (warm_rule.txt, its outcome).
RULES = {"2": ((75, 100, 150, 200, 400), (75, 100, 150, 200), 200.0, 29),
         "3": ((75, 100, 150), (75, 100), 110.0, 31)}
LENGTHS_MS, WARM_MS, WARM_MAX_MS, STREAM = RULES["2"]


def run(cache: Path, first: int, last: int, out: Path, warm_sigma: float | None) -> None:
    """Fill every gap of excerpts FIRST..LAST-1 with this clone's engine; scores to OUT."""
    from shellac.engine.models.bundle import load_bundle
    from shellac.engine.restoration.inpaint import inpaint
    from shellac.stages.profiles import load_plan

    torch.set_num_threads(1)
    extra = {} if warm_sigma is None else {"lsar_warm_max_ms": WARM_MAX_MS, "lsar_warm_sigma": warm_sigma}
    plan = load_plan("piano-declip", overrides={"inpaint": {"detect_dropouts": False, **extra}})
    params = next(s.params for s in plan.steps if s.stage == "inpaint")
    print(json.dumps({"inpaint_params": params.model_dump(mode="json")}), flush=True)
    bundle = load_bundle(Path("models") / params.model)
    rows = []
    for i in range(first, last):
        clean, score, _ = clean_excerpt("piano", i, cache)
        for ms in LENGTHS_MS:
            length = int(ms * SR / 1000)
            start = int(np.random.default_rng([SEED, i, STREAM, ms]).uniform(1.0, 4.0) * SR)
            given = clean.copy()
            given[start:start + length] = 0.0
            work = out.parent / f"{out.stem}-work" / f"{i:02d}-{ms}"
            work.mkdir(parents=True, exist_ok=True)
            src, dst = work / "input.wav", work / "filled.wav"
            sf.write(src, given, SR, subtype="FLOAT")
            t0 = time.monotonic()
            inpaint(src, dst, bundle, [(start, length)], params.inpaint_settings(), work=work / "engine")
            filled = sf.read(dst, dtype="float32")[0]
            row = {"excerpt": i, "score": score, "gap_ms": ms, "gap_start": start,
                   "scores": scores(clean[start:start + length], filled[start:start + length]),
                   "sha256": hashlib.sha256(filled.tobytes()).hexdigest(),
                   "seconds": round(time.monotonic() - t0, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out.write_text(json.dumps({"warm_sigma": warm_sigma, "first": first, "last": last, "rows": rows}, indent=1))


def means(rows: list[dict]) -> dict[str, float]:
    """Mean SNR, |level error| and spectrum LSD of rows."""
    return {k: float(np.mean([abs(r["scores"][k]) if k == "level_db" else r["scores"][k] for r in rows]))
            for k in ("snr_db", "level_db", "spectrum_lsd_db")}


def verdict(shipped_path: Path, candidates: list[Path]) -> None:
    """Per candidate and gap length: the means against shipped and the rule's bars."""
    shipped = json.loads(shipped_path.read_text())
    best = None
    for path in candidates:
        cand = json.loads(path.read_text())
        ok, lsds = True, []
        for ms in LENGTHS_MS:
            pairs = [(a, b) for a, b in zip(shipped["rows"], cand["rows"], strict=True) if a["gap_ms"] == ms]
            assert all(a["excerpt"] == b["excerpt"] and a["gap_start"] == b["gap_start"] for a, b in pairs)
            if ms not in WARM_MS:
                same = all(a["sha256"] == b["sha256"] for a, b in pairs)
                print(f"warm_sigma {cand['warm_sigma']} {ms:3d} ms: outputs identical to shipped: {same}")
                ok = ok and same
                continue
            # a gap where the clean render is silent has no SNR: left out of both
            scored = [(a, b) for a, b in pairs if np.isfinite(a["scores"]["snr_db"])]
            m0, m1 = means([a for a, _ in scored]), means([b for _, b in scored])
            passed = (m1["snr_db"] >= m0["snr_db"] + SNR_GAIN_DB and m1["level_db"] <= m0["level_db"] + LEVEL_SLACK_DB
                      and m1["spectrum_lsd_db"] <= m0["spectrum_lsd_db"] - SPECTRUM_GAIN_DB)
            lsds.append(m1["spectrum_lsd_db"])
            print(f"warm_sigma {cand['warm_sigma']} {ms:3d} ms ({len(scored)} of {len(pairs)} scored): "
                  f"SNR {m0['snr_db']:+6.2f} -> {m1['snr_db']:+6.2f}; |level| {m0['level_db']:5.2f} -> "
                  f"{m1['level_db']:5.2f}; spectrum LSD {m0['spectrum_lsd_db']:5.2f} -> "
                  f"{m1['spectrum_lsd_db']:5.2f} dB: {'passes' if passed else 'FAILS'}")
            ok = ok and passed
        print(f"warm_sigma {cand['warm_sigma']}: {'passes' if ok else 'fails'}; mean spectrum LSD over the warm "
              f"lengths {np.mean(lsds):.2f} dB")
        if ok and (best is None or np.mean(lsds) < best[1]):
            best = (cand["warm_sigma"], float(np.mean(lsds)))
    print("verdict:", f"adopt warm_sigma {best[0]}" if best else "no variant passes")


if __name__ == "__main__":
    if sys.argv[1] in ("run3", "verdict3"):
        LENGTHS_MS, WARM_MS, WARM_MAX_MS, STREAM = RULES["3"]
        sys.argv[1] = sys.argv[1][:-1]
    if sys.argv[1] == "run":
        run(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5]),
            float(sys.argv[6]) if len(sys.argv) > 6 else None)
    else:
        verdict(Path(sys.argv[2]), [Path(a) for a in sys.argv[3:]])
