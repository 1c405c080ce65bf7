"""Experiment record (session 25): the blind path's samples, to compare bit for bit across two clones.

Not shipped code (rule: end_gap_rule.txt). One generative restoration through
`shellac.engine.restoration.babe2.restore` with models/piano and Babe2Settings' defaults but 3 sampler
steps and 5 filter iterations, of piano validation excerpt 41's clean render cut to 4 s (its last
block is mostly padding), with Shellac's hand-over, the reference's, and the reference preset; prints
the SHA-256 of each output's samples.

Usage: python blind_same.py CACHE   (from a clone's root, that clone's shellac on PYTHONPATH)
"""
import hashlib
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from shellac.engine.models.bundle import load_bundle
from shellac.engine.restoration.babe2 import Babe2Settings, restore
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import prepare_excerpts

torch.set_num_threads(1)
part = load_heldout("validation")
ex = prepare_excerpts(part, 42, 5.5, 22050, 0, Path(sys.argv[1]), log=lambda _: None)[41]
bundle = load_bundle(Path("models/piano"))
base = Babe2Settings()
with tempfile.TemporaryDirectory() as tmp:
    src = Path(tmp) / "mono.wav"
    sf.write(src, ex.clean[: 4 * 22050].astype(np.float32), 22050, subtype="FLOAT")
    for preset, hand_over in (("shellac", "shellac"), ("shellac", "reference"), ("reference", "reference")):
        s = replace(base, sampler=replace(base.sampler, n_steps=3), filter_iters=5, preset=preset,
                    hand_over=hand_over)
        samples = np.array(restore(src, bundle, s, work=Path(tmp) / f"{preset}-{hand_over}").restored)
        print(f"preset {preset}, hand-over {hand_over}:", samples.shape,
              hashlib.sha256(samples.tobytes()).hexdigest())
