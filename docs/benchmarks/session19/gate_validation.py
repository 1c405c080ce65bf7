"""Session 19: apply gate_rule.txt's procedure to the two validation reports (no audio, no truth beyond the reports).

Usage: python gate_validation.py REPORT.json [REPORT.json ...]"""
import json
import sys

LIMITS = [0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 15.0]
rows = []
for path in sys.argv[1:]:
    for e in json.load(open(path))["excerpts"]:
        checks = {c["name"]: c["value"] for c in e["gates"]["babe2"]["checks"]}
        rows.append((e["name"], checks["passband_deviation_db"], e["gates"]["babe2"]["decision"], e["scores"]))
print("excerpt                      pbdev  decision  dLTAS(gen-eq)  dLSD(gen-eq)")
for name, dev, decision, s in rows:
    print(f"{name[:28]:28s} {dev:6.3f} {decision:9s} {s['babe2']['ltas_err_db'] - s['eq_step']['ltas_err_db']:+.3f}"
          f"         {s['babe2']['lsd_db'] - s['eq_step']['lsd_db']:+.3f}")
result = {}
for limit in LIMITS:
    picked = []
    for _, dev, decision, s in rows:
        # The shipped gate's own decision first (babe2_gated); the candidate limit adds fallbacks.
        fall = decision != "generative" or (dev is not None and dev > limit)
        picked.append(s["eq_step"] if fall else s["babe2"])
    n = len(picked)
    mean = {k: sum(p[k] for p in picked) / n for k in ("lsd_db", "ltas_err_db", "visqol_moslqo")}
    falls = sum(p is s["eq_step"] for p, (_, _, _, s) in zip(picked, rows))
    result[limit] = (mean, picked)
    print(f"L={limit:5.2f}: fallbacks {falls:2d}/{n}  LSD {mean['lsd_db']:.4f}  LTAS {mean['ltas_err_db']:.4f}"
          f"  ViSQOL {mean['visqol_moslqo']:.3f}")
best = min(m["ltas_err_db"] for m, _ in (result[L] for L in LIMITS[:-1]))
chosen = max(L for L in LIMITS[:-1] if result[L][0]["ltas_err_db"] <= best + 0.003)
shipped, shipped_rows = result[15.0]
cand, cand_rows = result[chosen]
worst = max(c["ltas_err_db"] - s["ltas_err_db"] for c, s in zip(cand_rows, shipped_rows))
d_ltas = cand["ltas_err_db"] - shipped["ltas_err_db"]
d_lsd = cand["lsd_db"] - shipped["lsd_db"]
print(f"chosen L* = {chosen}: mean LTAS {d_ltas:+.4f} dB, LSD {d_lsd:+.4f} dB, worst excerpt LTAS {worst:+.4f} dB")
adopt = d_ltas <= -0.01 and d_lsd <= 0.0 and worst <= 0.05
print("ADOPT" if adopt else "NOT ADOPTED")
