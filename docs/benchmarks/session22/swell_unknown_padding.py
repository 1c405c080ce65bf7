"""Experiment record (session 22): does marking the last block's padding unknown remove the end swell?

Not shipped code. Patches ShellacHandOver.inputs in this process only so that the padding past the
recording's end is unknown (known = 0) instead of known silence, restores sung validation excerpts
I... with the shipped `voice` profile through the chain executor, and prints the generative output's
level in 20 ms windows 260..0 ms before the end and the access copy's LSD / LTAS error. CACHE must not
hold a `voice` run of those excerpts (the patch does not change the code hash, so one would be reused):
copy a validation cache without its voice-* folders.

Usage (from the repository root, PYTHONPATH=.):
    python docs/benchmarks/session22/swell_unknown_padding.py shipped|unknown CACHE N I [I ...]
"""
import sys
from pathlib import Path

import numpy as np
import torch

from shellac.engine.restoration import handover
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts, run_chain, score

orig = handover.ShellacHandOver.inputs


def inputs_unknown_padding(self, y, x0, span, gain, prev):  # noqa: ANN001, ANN202
    yb, xb, known = orig(self, y, x0, span, gain, prev)
    known[span.valid:] = 0.0
    return yb, xb, known


if sys.argv[1] == "unknown":
    handover.ShellacHandOver.inputs = inputs_unknown_padding
torch.set_num_threads(2)
ex = prepare_excerpts(load_heldout("validation", kind="voice"), int(sys.argv[3]), 5.5, 22050, 0, Path(sys.argv[2]),
                      log=lambda s: None)


def db(x):
    return 20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-12)


for i in map(int, sys.argv[4:]):
    e = ex[i]
    out = run_chain(e, ChainRun("voice"), Path("models"))
    g = out.generative
    n = g.size
    tail = " ".join(f"{db(g[n - k * 441 - 441:n - k * 441]):.1f}" for k in (12, 8, 4, 2, 1, 0))
    s = score(e, out.access)
    print(f"{e.name}: tail (20 ms windows, 260..0 ms before end) {tail}; whole {db(g):.1f}; "
          f"access LSD {s['lsd_db']:.2f} LTAS {s['ltas_err_db']:.2f}", flush=True)
