"""Experiment record (session 29): balance_rule.txt's verdict, from the two reports and their run folders.

Not shipped code. Reads the shipped and the candidate bench-heldout reports of the same voice excerpts,
compares the access copies (babe2_gated) on LSD and LTAS error, counts the line bins beyond the cut-off
in each access copy (lines.py, the generative stage's output, which is the access copy when the gate
keeps it) and prints the five bars.

Usage (PYTHONPATH=docs/benchmarks/session29:.):
    python balance_verdict.py SHIPPED.json CANDIDATE.json CACHE SET
    SET: the candidate's --set item, e.g. generative_eq.consistency_balance_smooth=true
"""
import json
import sys
from pathlib import Path

import numpy as np
from lines import line_bins

from shellac.lab.heldout.bench import with_overrides
from shellac.lab.heldout.runner import ChainRun, catalog_run
from shellac.stages.profiles import parse_sets

shipped, candidate = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
cache, item = Path(sys.argv[3]), sys.argv[4]
names = [e["name"] for e in shipped["excerpts"]]
assert names == [e["name"] for e in candidate["excerpts"]], "the reports score different excerpts"


def access(report: dict, measure: str) -> np.ndarray:
    return np.array([e["scores"]["babe2_gated"][measure] for e in report["excerpts"]])


def wins(report: dict, against: str, measure: str) -> int:
    # The baselines (LTAS-EQ, the input) are in the shipped report only; the candidate's run skips them.
    return sum(e["scores"]["babe2_gated"][measure] < b["scores"][against][measure]
               for e, b in zip(report["excerpts"], shipped["excerpts"], strict=True))


lines = {"shipped": 0, "candidate": 0}
for name in names:
    folder = next((cache / "excerpts").glob(f"{name}-*"))
    voice = "tenor" if "-tenor" in name else "soprano"
    runs = {"shipped": catalog_run(ChainRun("voice"), voice),
            "candidate": catalog_run(with_overrides(ChainRun("voice"), parse_sets([item])), voice)}
    counts = {k: line_bins(folder / r.key())["gen"][0] for k, r in runs.items()}
    for k, n in counts.items():
        lines[k] += n
    print(f"{name[:28]:28s} lines {counts['shipped']:3d} -> {counts['candidate']:3d}")
d_lsd = access(candidate, "lsd_db") - access(shipped, "lsd_db")
d_ltas = access(candidate, "ltas_err_db") - access(shipped, "ltas_err_db")
worst = int(np.argmax(d_ltas))
for label, report in (("shipped", shipped), ("candidate", candidate)):
    counts = " ".join(str(wins(report, a, m)) for a in ("ltas_eq", "input")
                      for m in ("lsd_db", "ltas_err_db"))
    lsd_mean, ltas_mean = access(report, "lsd_db").mean(), access(report, "ltas_err_db").mean()
    print(f"{label:9s} LSD {lsd_mean:.3f}  LTAS {ltas_mean:.3f}"
          f"  wins (vs LTAS-EQ: LSD LTAS; vs input: LSD LTAS) {counts}  lines {lines[label]}")
fewer = [f"{a} {m}" for a in ("ltas_eq", "input") for m in ("lsd_db", "ltas_err_db")
         if wins(candidate, a, m) < wins(shipped, a, m)]
bars = {
    "(1) line bins down by half or more": lines["candidate"] <= 0.5 * lines["shipped"],
    "(2) mean LSD up <= 0.02": d_lsd.mean() <= 0.02,
    "(3) mean LTAS error up <= 0.02": d_ltas.mean() <= 0.02,
    "(4) no excerpt LTAS error up > 0.3": d_ltas.max() <= 0.3,
    "(5) no fewer wins vs LTAS-EQ or input": not fewer,
}
print(f"dLSD {d_lsd.mean():+.3f}  dLTAS {d_ltas.mean():+.3f}  worst LTAS {d_ltas[worst]:+.3f}"
      f" ({names[worst]})  fewer wins: {', '.join(fewer) or 'none'}")
for bar, ok in bars.items():
    print(f"   {bar}: {'pass' if ok else 'FAIL'}")
print("verdict:", "passes: adopt" if all(bars.values()) else "fails: nothing changes")
