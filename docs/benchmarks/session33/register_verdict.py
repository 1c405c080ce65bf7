"""Experiment record (session 33): register_rule.txt's verdict, from the shipped and candidate reports.

Not shipped code. Bars 1-5 on all 24 access copies (babe2_gated; session 30's access and wins).

Usage, from the repo root (PYTHONPATH=docs/benchmarks/session29:docs/benchmarks/session30:.):
    python register_verdict.py SHIPPED.json CANDIDATE.json
"""
import json
import sys
from pathlib import Path

import numpy as np
from range_verdict import access, wins


def fallbacks(report: dict) -> int:
    """Excerpts whose access copy is the quality gate's fallback."""
    return sum(bool(e["gates"]["babe2_gated"]["fallback"]) for e in report["excerpts"])


def main() -> None:
    shipped, candidate = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    for e, c in zip(shipped["excerpts"], candidate["excerpts"], strict=True):
        s, k = e["scores"]["babe2_gated"], c["scores"]["babe2_gated"]
        qs, qk = e["scores"]["eq_step"], c["scores"]["eq_step"]
        fell = "".join("F" if r["gates"]["babe2_gated"]["fallback"] else "." for r in (e, c))
        print(f"{e['name'][:34]:34s} {fell} input {e['scores']['input']['ltas_err_db']:5.2f}  EQ step LTAS "
              f"{qs['ltas_err_db']:5.2f} -> {qk['ltas_err_db']:5.2f}  access LSD {s['lsd_db']:6.3f} -> "
              f"{k['lsd_db']:6.3f}  LTAS {s['ltas_err_db']:6.3f} -> {k['ltas_err_db']:6.3f}")
    counts = {label: [wins(r, shipped, a, m) for a in ("ltas_eq", "input") for m in ("lsd_db", "ltas_err_db")]
              for label, r in (("shipped", shipped), ("candidate", candidate))}
    mean = {label: {m: access(r, m).mean() for m in ("lsd_db", "ltas_err_db", "high_band_db", "low_band_db")}
            for label, r in (("shipped", shipped), ("candidate", candidate))}
    falls = {label: fallbacks(r) for label, r in (("shipped", shipped), ("candidate", candidate))}
    for label, r in (("shipped", shipped), ("candidate", candidate)):
        m = mean[label]
        eq = np.mean([e["scores"]["eq_step"]["ltas_err_db"] for e in r["excerpts"]])
        print(f"{label:9s} LSD {m['lsd_db']:.3f}  LTAS {m['ltas_err_db']:.3f}  above the high cut "
              f"{m['high_band_db']:+.2f}  below the low cut {m['low_band_db']:+.2f}  wins (vs LTAS-EQ: LSD "
              f"LTAS; vs input: LSD LTAS) {' '.join(map(str, counts[label]))} of {len(shipped['excerpts'])}  "
              f"fallbacks {falls[label]}  EQ step LTAS {eq:.3f}")
    s, k = mean["shipped"], mean["candidate"]
    fewer = [a - b for a, b in zip(counts["shipped"], counts["candidate"], strict=True)]
    bars = {
        "1 mean LTAS error down by >= 0.10 dB": k["ltas_err_db"] - s["ltas_err_db"] <= -0.10,
        "2 mean LSD up by <= 0.05 dB": k["lsd_db"] - s["lsd_db"] <= 0.05,
        "3 wins summed no fewer, none fewer by more than one": sum(fewer) <= 0 and max(fewer) <= 1,
        "4 high band no further from clean than shipped + 0.25 dB, low band + 0.5 dB":
            abs(k["high_band_db"]) <= abs(s["high_band_db"]) + 0.25
            and abs(k["low_band_db"]) <= abs(s["low_band_db"]) + 0.5,
        "5 fallbacks no more than shipped + 1": falls["candidate"] <= falls["shipped"] + 1,
    }
    print(f"dLSD {k['lsd_db'] - s['lsd_db']:+.3f}  dLTAS {k['ltas_err_db'] - s['ltas_err_db']:+.3f}  "
          f"wins fewer by {fewer}")
    for name, ok in bars.items():
        print(f"  bar {name}: {'passed' if ok else 'FAILED'}")
    print("verdict:", "ADOPT" if all(bars.values()) else "not adopted")


if __name__ == "__main__":
    main()
