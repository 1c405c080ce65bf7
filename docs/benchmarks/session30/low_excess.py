"""Experiment record (session 30): how often the voice access copy puts too much energy low; its cost.

Not shipped code. Reads voice bench-heldout reports (and, for a candidate report scored without the
baselines, the shipped report of the same excerpts for the input and EQ-step rows) and prints, over all
their excerpts: how many access copies (babe2_gated) have over 6 dB more energy than the clean render below
the low cut-off (`low_band_db`), their mean LTAS error against the EQ step's and the input's, and which of
them lose to the untouched input on LTAS error.

Usage: python low_excess.py REPORT[=BASELINE_REPORT] [...]
"""
import json
import sys
from pathlib import Path

import numpy as np

rows = []
for item in sys.argv[1:]:
    path, _, base = item.partition("=")
    report = json.loads(Path(path).read_text())
    baseline = json.loads(Path(base or path).read_text())
    for e, b in zip(report["excerpts"], baseline["excerpts"], strict=True):
        a, q, i = e["scores"]["babe2_gated"], b["scores"]["eq_step"], b["scores"]["input"]
        rows.append((e["name"], a["low_band_db"], q["low_band_db"], i["low_band_db"],
                     a["ltas_err_db"], q["ltas_err_db"], i["ltas_err_db"]))
names = [r[0] for r in rows]
v = np.array([r[1:] for r in rows], dtype=float)
high, lose = v[:, 0] > 6.0, v[:, 3] >= v[:, 5]
sopranos = sum("soprano" in n for n, h in zip(names, high, strict=True) if h)
print(f"excerpts {len(rows)}; access copy over +6 dB below the low cut-off: {high.sum()}"
      f" ({sopranos} soprano); EQ step so: {(v[:, 1] > 6).sum()}")
for label, sel in (("where over +6 dB", high), ("elsewhere", ~high)):
    print(f"LTAS error, access / EQ step / input, {label}: {v[sel, 3].mean():.2f} / {v[sel, 4].mean():.2f}"
          f" / {v[sel, 5].mean():.2f}")
print(f"losses to the input on LTAS error: {lose.sum()}, of which over +6 dB low: {(lose & high).sum()}")
for n, r, h, lo in zip(names, v, high, lose, strict=True):
    if h and lo:
        print(f"  {n[:34]:34s} low {r[0]:5.1f} (EQ step {r[1]:5.1f}, input {r[2]:5.1f})"
              f"  LTAS {r[3]:5.2f} (EQ step {r[4]:5.2f}, input {r[5]:5.2f})")
