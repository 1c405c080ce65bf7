"""Experiment record (session 26): long dropouts filled by the prior from LSAR's fill instead of from zeros.

Not shipped code; a diagnostic (decides nothing). Per piano validation excerpt i in [FIRST, LAST) (the
clean render only, as prepare_excerpts makes it) and gap length L in LENGTHS_MS: one dropout of exact
zeros of L ms starting at a point drawn in [1.0, 4.0] s from rng [0, i, 28, L], filled by
  prior:     the engine's inpaint() with the `piano-declip` profile's inpaint parameters (dropout
             detection off; the run is over its 50 ms, so the diffusion prior fills it from the zeros)
  warm050:   the same parameters but sigma_start 0.0315 (half the piano model's sigma_data, 0.063; the
             profile's 0.5 is 8 sigma_data, a start from scratch), on the input with the run first
             filled by LSAR (lsar_fill_file, default settings): the prior's warm start (x_init = y)
             in the run is then LSAR's fill
  warm025:   warm050 with sigma_start 0.01575 (a quarter of sigma_data)
  lsar:      LSAR's fill alone
Scored on the gap's samples against the clean render as session 25's gap_sweep.py scores them (SNR,
level error, spectrum LSD).

Voice (`voice` as a fifth argument): sung validation excerpts with their singer's model (tenor,
soprano; sigma_data 1.0), the `piano-declip` inpaint parameters otherwise, and sigma_start given in
units of sigma_data as for piano: prior 8 (from scratch, as piano's 0.5), default 0.5 (the stage
default, what a voice run gets today: half sigma_data), warm050 0.5 and warm025 0.25 on LSAR's fill.

Usage: python warm_gap.py CACHE FIRST LAST OUT.json [voice]     (PYTHONPATH=docs/benchmarks/session25:.)
       python warm_gap.py summary OUT.json [...]
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from gap_sweep import scores

SR, SECONDS, SEED = 22050, 5.5, 0
LENGTHS_MS = (75, 100, 150, 200)
VARIANTS = ("prior", "warm050", "warm025", "lsar")


def clean_excerpt(kind: str, i: int, cache: Path) -> tuple[np.ndarray, str, str]:
    """Validation excerpt i's clean render (float32), its score and model, as prepare_excerpts makes it."""
    from shellac.lab.heldout.material import RenderSpec, corpus_scores, load_heldout, render_excerpt
    from shellac.lab.heldout.runner import hashing_seed
    from shellac.lab.heldout.sung import SungSpec, sing_excerpt, voice_for

    part = load_heldout("validation", kind=kind)
    works = corpus_scores(part.composers)
    seed = int(hashing_seed(SEED, i))
    if kind == "voice":
        spec = SungSpec(works[i % len(works)], voice_for(i), SR, SECONDS, seed)
        return sing_excerpt(spec, cache / "renders").astype(np.float32), spec.score, voice_for(i)
    spec = RenderSpec(works[i % len(works)], str(part.soundfont), SR, SECONDS, seed)
    return render_excerpt(spec, cache / "renders").astype(np.float32), spec.score, "piano"


def run(cache: Path, first: int, last: int, out: Path, kind: str = "piano") -> None:
    """Every variant's fill of every gap of excerpts FIRST..LAST-1; scores to OUT."""
    from shellac.engine.dsp.lsar_file import LsarSettings, lsar_fill_file
    from shellac.engine.models.bundle import load_bundle
    from shellac.engine.restoration.inpaint import inpaint
    from shellac.stages.profiles import load_plan

    torch.set_num_threads(1)
    starts = {"prior": 0.5 / 0.063, "warm050": 0.5, "warm025": 0.25}  # in units of sigma_data
    names = (*VARIANTS[:1], "default", *VARIANTS[1:]) if kind == "voice" else VARIANTS
    if kind == "voice":
        starts["default"] = 0.5
    rows = []
    for i in range(first, last):
        clean, score, model = clean_excerpt(kind, i, cache)
        bundle = load_bundle(Path("models") / model)
        settings = {}
        for name, units in starts.items():
            start = 0.5 if (name, kind) == ("prior", "piano") else units * bundle.config.sigma_data
            plan = load_plan("piano-declip", overrides={"inpaint": {"detect_dropouts": False, "model": model,
                                                                    "sigma_start": start}})
            settings[name] = next(s.params for s in plan.steps if s.stage == "inpaint").inpaint_settings()
        for ms in LENGTHS_MS:
            length = int(ms * SR / 1000)
            start = int(np.random.default_rng([SEED, i, 28, ms]).uniform(1.0, 4.0) * SR)
            gap = slice(start, start + length)
            work = out.parent / f"{out.stem}-work" / f"{i:02d}-{ms}"
            work.mkdir(parents=True, exist_ok=True)
            given = clean.copy()
            given[gap] = 0.0
            sf.write(work / "input.wav", given, SR, subtype="FLOAT")
            lsar_fill_file(work / "input.wav", [(start, length)], work / "lsar.wav", LsarSettings())
            row = {"excerpt": i, "score": score, "model": model, "gap_ms": ms, "gap_start": start}
            for name in names:
                t0 = time.monotonic()
                if name == "lsar":
                    filled = sf.read(work / "lsar.wav", dtype="float32")[0]
                else:
                    src = work / ("lsar.wav" if name.startswith("warm") else "input.wav")
                    inpaint(src, work / f"{name}.wav", bundle, [(start, length)], settings[name],
                            work=work / f"engine-{name}")
                    filled = sf.read(work / f"{name}.wav", dtype="float32")[0]
                row[name] = {**scores(clean[gap], filled[gap]), "seconds": round(time.monotonic() - t0, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out.write_text(json.dumps({"kind": kind, "first": first, "last": last, "rows": rows}, indent=1))


def summary(paths: list[Path]) -> None:
    """Means per gap length and variant (|level error|); gaps over silence left out."""
    rows = [r for p in paths for r in json.loads(p.read_text())["rows"]]
    for ms in LENGTHS_MS:
        sel = [r for r in rows if r["gap_ms"] == ms and np.isfinite(r["prior"]["snr_db"])]
        cells = []
        for name in [n for n in ("prior", "default", *VARIANTS[1:]) if n in sel[0]]:
            m = [np.mean([abs(r[name][k]) if k == "level_db" else r[name][k] for r in sel])
                 for k in ("snr_db", "level_db", "spectrum_lsd_db")]
            cells.append(f"{name} {m[0]:+6.2f} / {m[1]:5.2f} / {m[2]:5.2f}")
        print(f"{ms:3d} ms ({len(sel)}): SNR / |level| / spectrum LSD dB: " + "; ".join(cells))


if __name__ == "__main__":
    if sys.argv[1] == "summary":
        summary([Path(a) for a in sys.argv[2:]])
    else:
        run(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), *sys.argv[5:6])
