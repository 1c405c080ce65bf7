"""Experiment record (session 25): the same planted dropouts filled by least-squares AR interpolation.

Not shipped code; a diagnostic beside end_gap.py (decides nothing). For every `near` gap of an
end_gap.py report (a dropout with music on both sides), the clean render is cut as there, the gap
zeroed, and filled by `shellac.engine.dsp.lsar.lsar_fill` (Janssen's LSAR) with one AR model of order
P fitted (Levinson, `lsar.levinson`) on the 4096 samples either side of the gap; prints its gap SNR
and level beside the diffusion fill's from the report.

Usage: python lsar_compare.py CACHE REPORT.json [P]
"""
import json
import sys
from pathlib import Path

import numpy as np

from shellac.engine.dsp.lsar import levinson, lsar_fill
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import prepare_excerpts

CONTEXT = 4096

report = json.loads(Path(sys.argv[2]).read_text())
order = int(sys.argv[3]) if len(sys.argv) > 3 else 512
excerpts = prepare_excerpts(load_heldout("validation", kind=report["kind"]), report["last"], 5.5, 22050, 0,
                            Path(sys.argv[1]), log=lambda _: None)
by_name = {e.name: e for e in excerpts}
rows = []
for r in report["rows"]:
    if r["case"] != "near" or not np.isfinite(r["snr_db"]):  # (a gap where the clean render is silent)
        continue
    clean = by_name[r["excerpt"]].clean[: r["length_samples"]].astype(np.float64)
    start, length = r["gap_start"], r["gap_length"]
    p = min(order, r["from_end_samples"], start)
    given = clean.copy()
    given[start:start + length] = 0.0
    before = given[max(0, start - CONTEXT):start]
    after = given[start + length:start + length + CONTEXT]
    acf = sum(np.correlate(s, s, "full")[s.size - 1:s.size + p] for s in (before, after) if s.size > p)
    coeffs, _ = levinson(acf[None, :], p)
    missing = np.zeros(given.size, dtype=bool)
    missing[start:start + length] = True
    filled = lsar_fill(given, missing, np.array([start]), np.array([start + length]), coeffs)
    c, e = clean[start:start + length], filled[start:start + length]
    snr = 10 * np.log10(np.sum(c ** 2) / np.sum((e - c) ** 2))
    level = 10 * np.log10(np.sum(e ** 2) / np.sum(c ** 2))
    rows.append((r["snr_db"], snr, r["level_db"], level))
    print(f"{r['excerpt'][:34]:34s} {length:4d} smp, p {p:4d}: diffusion SNR {r['snr_db']:+6.2f} level "
          f"{r['level_db']:+6.2f}; LSAR SNR {snr:+6.2f} level {level:+6.2f} dB")
a = np.array(rows)
print(f"{report['kind']} near, {len(a)} gaps: mean SNR diffusion {a[:, 0].mean():+.2f}, "
      f"LSAR {a[:, 1].mean():+.2f} dB; "
      f"mean |level| diffusion {np.abs(a[:, 2]).mean():.2f}, LSAR {np.abs(a[:, 3]).mean():.2f} dB; "
      f"LSAR better SNR on {int((a[:, 1] > a[:, 0]).sum())} of {len(a)}")
