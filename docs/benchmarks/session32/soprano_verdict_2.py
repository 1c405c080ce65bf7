"""Experiment record (session 32): soprano_rule_2.txt's verdict on fresh excerpts 298-321.

Not shipped code. Session 31's `verdict` on the soprano excerpts with bar 4's high band as a regression limit
(0.25 dB); the tenor excerpts must be identical in both reports (their bundle did not change).

Usage, from the repo root (PYTHONPATH=docs/benchmarks/session29:docs/benchmarks/session30:
docs/benchmarks/session31:docs/benchmarks/session32:.):
    python soprano_verdict_2.py SHIPPED.json CANDIDATE.json
"""
import json
import sys
from pathlib import Path

from range_verdict import access
from soprano_verdict import singer, verdict
from voice_gpu_verdict import val_losses


def main() -> None:
    shipped, candidate = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    tenors = [singer(r, "tenor")["excerpts"] for r in (shipped, candidate)]
    same = all(a["scores"]["babe2_gated"] == b["scores"]["babe2_gated"] for a, b in zip(*tenors, strict=True))
    print(f"tenor excerpts identical in both reports: {same} ({len(tenors[0])})")
    verdict(shipped, candidate, "soprano", *val_losses("soprano"), high_band_slack=0.25)
    both = [(access(r, "lsd_db").mean(), access(r, "ltas_err_db").mean()) for r in (shipped, candidate)]
    print(f"all {len(shipped['excerpts'])} excerpts: LSD {both[0][0]:.3f} -> {both[1][0]:.3f}, "
          f"LTAS {both[0][1]:.3f} -> {both[1][1]:.3f}")


if __name__ == "__main__":
    main()
