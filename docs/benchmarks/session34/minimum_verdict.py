"""Experiment record (session 34): minimum_rule.txt's verdict, and the measure beside it.

Not shipped code. Bars 1-5 are session 33's, read by its verdict script (the same bars on the same rows);
then, not deciding, the LTAS error within 30 dB of the clean maximum (`ltas_err_within30_db`) of the
access copies and the EQ steps, with wins against the untouched input.

Usage, from the repo root
(PYTHONPATH=docs/benchmarks/session29:docs/benchmarks/session30:docs/benchmarks/session33:.):
    python minimum_verdict.py SHIPPED.json CANDIDATE.json
"""
import json
import sys
from pathlib import Path

import numpy as np
from register_verdict import main as bars

KEY = "ltas_err_within30_db"


def main() -> None:
    bars()
    shipped, candidate = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    base = np.array([e["scores"]["input"][KEY] for e in shipped["excerpts"]])
    print(f"beside (not deciding): LTAS error within 30 dB of the clean maximum; input {base.mean():.3f}")
    for label, report in (("shipped", shipped), ("candidate", candidate)):
        for row in ("eq_step", "babe2_gated"):
            v = np.array([e["scores"][row][KEY] for e in report["excerpts"]])
            print(f"  {label:9s} {row:11s} {v.mean():.3f}  beats the input on {(v < base).sum()} of {v.size}")


if __name__ == "__main__":
    main()
