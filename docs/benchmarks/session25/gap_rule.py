"""Experiment record (session 25): the `inpaint` engine's fill of dropouts inside the music, one clone's code.

Not shipped code. Rule: docs/benchmarks/session25/lsar_rule.txt. Per piano validation excerpt i in
[FIRST, LAST) and gap length L in LENGTHS_MS: the clean render (5.5 s) with one dropout of exact zeros
of L ms starting at a point drawn in [1.0, 4.0] s from rng [0, i, 27, L], filled by the engine's
inpaint() with the `piano-declip` profile's inpaint parameters (dropout detection off) and
models/piano, from whatever `shellac` is on PYTHONPATH; scored on the gap's samples against the clean
render as gap_sweep.py scores them (SNR, level error, spectrum LSD). `verdict` applies the rule.

Usage: python gap_rule.py run CACHE piano FIRST LAST OUT.json
       python gap_rule.py verdict SHIPPED.json CANDIDATE.json [...pairs]
"""
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gap_sweep import scores  # noqa: E402

SR, SECONDS, SEED = 22050, 5.5, 0
LENGTHS_MS = (10, 25, 45, 75)
LSAR_MS = (10, 25, 45)  # with the stage's 0.5 ms margins each side, within the candidate's 50 ms
SNR_GAIN_DB, SPECTRUM_SLACK_DB = 3.0, 0.5


def run(cache: Path, kind: str, first: int, last: int, out: Path) -> None:
    """Fill every gap of excerpts FIRST..LAST-1 with this clone's engine; scores to OUT."""
    from shellac.engine.models.bundle import load_bundle
    from shellac.engine.restoration.inpaint import inpaint
    from shellac.lab.heldout.material import load_heldout
    from shellac.lab.heldout.runner import prepare_excerpts
    from shellac.stages.profiles import load_plan

    torch.set_num_threads(1)
    plan = load_plan("piano-declip", overrides={"inpaint": {"detect_dropouts": False}})
    params = next(s.params for s in plan.steps if s.stage == "inpaint")
    print(json.dumps({"inpaint_params": params.model_dump(mode="json")}), flush=True)
    excerpts = prepare_excerpts(load_heldout("validation", kind=kind), last, SECONDS, SR, SEED, cache,
                                log=lambda _: None)
    rows = []
    for i in range(first, last):
        ex = excerpts[i]
        clean = ex.clean.astype(np.float32)
        model = params.model
        bundle = load_bundle(Path("models") / model)
        settings = params.inpaint_settings()
        for ms in LENGTHS_MS:
            length = int(ms * SR / 1000)
            start = int(np.random.default_rng([SEED, i, 27, ms]).uniform(1.0, 4.0) * SR)
            given = clean.copy()
            given[start:start + length] = 0.0
            work = out.parent / f"{out.stem}-work" / f"{ex.name}-{ms}"
            work.mkdir(parents=True, exist_ok=True)
            src, dst = work / "input.wav", work / "filled.wav"
            sf.write(src, given, SR, subtype="FLOAT")
            t0 = time.monotonic()
            inpaint(src, dst, bundle, [(start, length)], settings, work=work / "engine")
            filled = sf.read(dst, dtype="float32")[0]
            row = {"excerpt": ex.name, "model": model, "gap_ms": ms, "gap_start": start,
                   "scores": scores(clean[start:start + length], filled[start:start + length]),
                   "sha256": hashlib.sha256(filled.tobytes()).hexdigest(),
                   "seconds": round(time.monotonic() - t0, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out.write_text(json.dumps({"kind": kind, "first": first, "last": last, "rows": rows}, indent=1))


def verdict(pairs: list[tuple[Path, Path]]) -> None:
    """Per kind and gap length: the two clones' means and the rule's bars."""
    ok = True
    for shipped_path, candidate_path in pairs:
        shipped, candidate = (json.loads(p.read_text()) for p in (shipped_path, candidate_path))
        kind = shipped["kind"]
        for ms in LENGTHS_MS:
            pairs_ms = [(a, b) for a, b in zip(shipped["rows"], candidate["rows"], strict=True)
                        if a["gap_ms"] == ms]
            assert all(a["excerpt"] == b["excerpt"] for a, b in pairs_ms)
            if ms not in LSAR_MS:
                same = all(a["sha256"] == b["sha256"] for a, b in pairs_ms)
                print(f"{kind} {ms:3d} ms: outputs identical in both clones: {same}")
                ok = ok and same
                continue
            # a gap where the clean render is silent has no SNR: left out of both
            scored = [(a["scores"], b["scores"]) for a, b in pairs_ms if np.isfinite(a["scores"]["snr_db"])]
            m = [{k: float(np.mean([abs(r[k]) if k == "level_db" else r[k] for r in side]))
                  for k in ("snr_db", "level_db", "spectrum_lsd_db")} for side in zip(*scored, strict=True)]
            passed = (m[1]["snr_db"] >= m[0]["snr_db"] + SNR_GAIN_DB and m[1]["level_db"] <= m[0]["level_db"]
                      and m[1]["spectrum_lsd_db"] <= m[0]["spectrum_lsd_db"] + SPECTRUM_SLACK_DB)
            print(f"{kind} {ms:3d} ms ({len(scored)} of {len(pairs_ms)} scored): "
                  f"SNR {m[0]['snr_db']:+6.2f} -> {m[1]['snr_db']:+6.2f}; "
                  f"|level| {m[0]['level_db']:5.2f} -> {m[1]['level_db']:5.2f}; "
                  f"spectrum LSD {m[0]['spectrum_lsd_db']:5.2f} -> {m[1]['spectrum_lsd_db']:5.2f} dB: "
                  f"{'passes' if passed else 'FAILS'}")
            ok = ok and passed
    print("verdict:", "the candidate passes" if ok else "the candidate fails")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), Path(sys.argv[6]))
    else:
        args = [Path(a) for a in sys.argv[2:]]
        verdict(list(zip(args[::2], args[1::2], strict=True)))
