"""Experiment record (session 32): what the voice quality gate's fallbacks did, against the truth.

Not shipped code. For every excerpt a report's gate sent back to its EQ step (babe2_gated's fallback), the
generative output's and the EQ step's LSD and LTAS error against clean, and the check that fired: did the
fallback give the archive the better copy?

Usage: python fallbacks.py REPORT.json [REPORT.json ...]
"""
import json
import sys
from pathlib import Path

totals = {"better on both": 0, "worse on both": 0, "mixed": 0}
for path in sys.argv[1:]:
    report = json.loads(Path(path).read_text())
    for e in report["excerpts"]:
        gate = e["gates"]["babe2_gated"]
        if not gate["fallback"]:
            continue
        gen, eq = e["scores"]["babe2"], e["scores"]["eq_step"]
        d_lsd, d_ltas = eq["lsd_db"] - gen["lsd_db"], eq["ltas_err_db"] - gen["ltas_err_db"]
        verdict = ("better on both" if d_lsd < 0 and d_ltas < 0 else
                   "worse on both" if d_lsd > 0 and d_ltas > 0 else "mixed")
        totals[verdict] += 1
        fired = ", ".join(f"{c['name']} {c['value']:.2f}" for c in gate["checks"] if not c["passed"])
        print(f"{Path(path).stem:24s} {e['name'][:32]:32s} {fired:28s} fallback minus generative: "
              f"LSD {d_lsd:+.2f}, LTAS {d_ltas:+.2f} dB -> {verdict}")
print("fallbacks:", ", ".join(f"{k} {v}" for k, v in totals.items()))
