"""Experiment record (session 30): floor_low_rule.txt's verdict, from the shipped and candidate reports.

Not shipped code. Compares the access copies (babe2_gated) of the same voice excerpts on LSD and LTAS error,
counts wins against LTAS-EQ and the untouched input (the baselines from the shipped report) and the gate's
fallbacks, and prints the five bars; low_band_db beside them, not barred.

Usage (PYTHONPATH=docs/benchmarks/session29:docs/benchmarks/session30):
    python floor_low_verdict.py SHIPPED.json CANDIDATE.json
"""
import json
import sys
from pathlib import Path

import numpy as np
from range_verdict import access, wins


def main() -> None:
    shipped, candidate = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    names = [e["name"] for e in shipped["excerpts"]]
    assert names == [e["name"] for e in candidate["excerpts"]], "the reports score different excerpts"

    def fallbacks(report: dict) -> int:
        return sum(e["gates"]["babe2_gated"]["decision"] != "generative" for e in report["excerpts"])

    counts = {}
    for label, report in (("shipped", shipped), ("candidate", candidate)):
        counts[label] = {(a, m): wins(report, shipped, a, m) for a in ("ltas_eq", "input")
                         for m in ("lsd_db", "ltas_err_db")}
        lsd, ltas, low = (access(report, m).mean() for m in ("lsd_db", "ltas_err_db", "low_band_db"))
        won = " ".join(str(v) for v in counts[label].values())
        print(f"{label:9s} LSD {lsd:.3f}  LTAS {ltas:.3f}  low band {low:+.2f}  fallbacks {fallbacks(report)}"
              f"  wins (vs LTAS-EQ: LSD LTAS; vs input: LSD LTAS) {won}")
    d_lsd = access(candidate, "lsd_db") - access(shipped, "lsd_db")
    d_ltas = access(candidate, "ltas_err_db") - access(shipped, "ltas_err_db")
    worst = int(np.argmax(d_ltas))
    print(f"dLSD {d_lsd.mean():+.3f}  dLTAS {d_ltas.mean():+.3f}"
          f"  worst LTAS {d_ltas[worst]:+.3f} ({names[worst]})")
    bars = {
        "(1) mean LTAS error down >= 0.05": d_ltas.mean() <= -0.05,
        "(2) mean LSD up <= 0.02": d_lsd.mean() <= 0.02,
        "(3) no excerpt LTAS error up > 2.0": d_ltas.max() <= 2.0,
        "(4) LTAS wins vs input no fewer; four counts summed no fewer":
            counts["candidate"][("input", "ltas_err_db")] >= counts["shipped"][("input", "ltas_err_db")]
            and sum(counts["candidate"].values()) >= sum(counts["shipped"].values()),
        "(5) fallbacks no more than shipped + 1": fallbacks(candidate) <= fallbacks(shipped) + 1,
    }
    for bar, ok in bars.items():
        print(f"   {bar}: {'pass' if ok else 'FAIL'}")
    print("verdict:", "passes: adopt" if all(bars.values()) else "fails: nothing changes")


if __name__ == "__main__":
    main()
