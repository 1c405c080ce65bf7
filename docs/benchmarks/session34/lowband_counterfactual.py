"""Experiment record (session 34): the voice quality gate's low-band check, had it not decided, from reports.

Not shipped code, nothing restored. The gate is a function of its recorded checks: an access copy falls back
to the EQ step when any applicable check fails. For every excerpt of the given bench-heldout reports (voice,
with the `babe2` and `eq_step` rows) whose gate fell back with the low-band check failing, the copy the gate
would have kept had that check not decided is read from the report: the generative output (`babe2`) when no
other check failed, the fallback otherwise. Printed per such excerpt: the other checks, the truth (the
generative output's energy below the low cut-off vs clean) and both copies' LSD and LTAS error; then, per
report and over all, the access copies' means as shipped and without the check's say, and how often the
kept output was better on both measures, worse on both, or mixed.

Usage (PYTHONPATH=.): python lowband_counterfactual.py REPORT.json [REPORT.json ...]
"""
import json
import sys
from pathlib import Path

import numpy as np

CHECK = "low_band_excess_db"


def main() -> None:
    tally = {"better on both": 0, "worse on both": 0, "mixed": 0}
    shipped_all: list[tuple[float, float]] = []
    without_all: list[tuple[float, float]] = []
    for path in sys.argv[1:]:
        report = json.loads(Path(path).read_text())
        shipped, without = [], []
        for e in report["excerpts"]:
            s = e["scores"]
            access = (s["babe2_gated"]["lsd_db"], s["babe2_gated"]["ltas_err_db"])
            shipped.append(access)
            gate = e["gates"]["babe2_gated"]
            checks = gate["checks"] if gate else []
            failed = [c["name"] for c in checks if c["applicable"] and not c["passed"]]
            if not (gate and gate["fallback"] and CHECK in failed):
                without.append(access)
                continue
            keep = failed == [CHECK]
            new = (s["babe2"]["lsd_db"], s["babe2"]["ltas_err_db"]) if keep else access
            without.append(new)
            if keep:
                better = [n < a for n, a in zip(new, access, strict=True)]
                verdict = "better on both" if all(better) else "worse on both" if not any(better) else "mixed"
                tally[verdict] += 1
            check = next(c["value"] for c in gate["checks"] if c["name"] == CHECK)
            print(f"{Path(path).stem:24s} {e['name'][:30]:30s} check {check:+6.2f} truth "
                  f"{s['babe2']['low_band_db']:+6.2f}  other failed {[f for f in failed if f != CHECK]}  "
                  f"LSD {access[0]:6.3f} -> {new[0]:6.3f}  LTAS {access[1]:6.3f} -> {new[1]:6.3f}")
        a, b = np.mean(shipped, axis=0), np.mean(without, axis=0)
        print(f"  {Path(path).stem}: {len(shipped)} access copies, LSD {a[0]:.3f} -> {b[0]:.3f}, "
              f"LTAS {a[1]:.3f} -> {b[1]:.3f}")
        shipped_all += shipped
        without_all += without
    a, b = np.mean(shipped_all, axis=0), np.mean(without_all, axis=0)
    print(f"all {len(shipped_all)} access copies: LSD {a[0]:.3f} -> {b[0]:.3f}, LTAS {a[1]:.3f} -> "
          f"{b[1]:.3f}; kept outputs against the fallback: {tally}")


if __name__ == "__main__":
    main()
