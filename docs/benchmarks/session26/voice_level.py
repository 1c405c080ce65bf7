"""Experiment record (session 26): why the singer models fill short gaps too quietly (a diagnostic).

Not shipped code; decides nothing. Sung validation excerpts FIRST..LAST-1 (clean, warm_gap.clean_excerpt),
one dropout of exact zeros of L ms (10, 25, 50) starting in [1.0, 4.0] s (rng [0, i, 30, L]), filled by
inpaint() with the `inpaint` stage's defaults (the voice models have no inpainting profile; dropout
detection off) and the excerpt's singer model, with sigma_start 0.5 (the stage default: half the voice
models' sigma_data of 1.0) and 8 (eight sigma_data: the piano profile's 0.5 in the piano model's units).
Prints the level error (fill energy over clean, dB) and SNR of each fill.

Usage: python voice_level.py CACHE FIRST LAST [SIGMAS, e.g. 0.5,2,4,8]     (PYTHONPATH=.:docs/benchmarks/session25:docs/benchmarks/session26)
"""
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from gap_sweep import scores
from warm_gap import SR, clean_excerpt

from shellac.engine.models.bundle import load_bundle
from shellac.engine.restoration.inpaint import inpaint
from shellac.stages.inpaint import InpaintParams

torch.set_num_threads(1)
SIGMAS = tuple(float(s) for s in sys.argv[4].split(",")) if len(sys.argv) > 4 else (0.5, 8.0)
cache, first, last = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for i in range(first, last):
    clean, _, model = clean_excerpt("voice", i, cache)
    bundle = load_bundle(Path("models") / model)
    for ms in (10, 25, 50):
        length = int(ms * SR / 1000)
        start = int(np.random.default_rng([0, i, 30, ms]).uniform(1.0, 4.0) * SR)
        given = clean.copy()
        given[start:start + length] = 0.0
        row = {"excerpt": i, "model": model, "gap_ms": ms}
        with tempfile.TemporaryDirectory() as tmp:
            sf.write(Path(tmp) / "in.wav", given, SR, subtype="FLOAT")
            for sigma in SIGMAS:
                settings = InpaintParams(model=model, detect_dropouts=False, sigma_start=sigma).inpaint_settings()
                inpaint(Path(tmp) / "in.wav", Path(tmp) / "out.wav", bundle, [(start, length)], settings,
                        work=Path(tmp) / f"w{sigma}")
                fill = sf.read(Path(tmp) / "out.wav", dtype="float32")[0][start:start + length]
                s = scores(clean[start:start + length], fill)
                row[f"sigma_start {sigma}"] = {"level_db": round(s["level_db"], 2), "snr_db": round(s["snr_db"], 2)}
        print(json.dumps(row), flush=True)
