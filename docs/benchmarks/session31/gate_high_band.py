"""Experiment record (session 31): the voice gate's high-band check against the truth, in shipped reports.

Not shipped code. For every excerpt of the given reports: the gate's `high_band_excess_db` (the generative
output's energy above the input's high cut-off over the larger of LTAS-EQ's and the clean reference's) and
what it stands for, the output's energy above the high cut-off against the clean render (`high_band_db` of
the `babe2` row). Counts the check's alarms (over its 3 dB limit) and misses against a truth over +3 dB.

Usage: python gate_high_band.py REPORT.json [...]
"""
import json
import sys
from pathlib import Path

import numpy as np


def against_truth(paths: list[str], check_name: str = "high_band_excess_db",
                  truth_key: str = "high_band_db") -> None:
    """Print one gate check's alarms and misses against the generative output's band energy vs clean."""
    pairs = []
    for path in paths:
        for e in json.loads(Path(path).read_text())["excerpts"]:
            check = {c["name"]: c for c in e["gates"]["babe2"]["checks"]}.get(check_name)
            if check is None or not check["applicable"]:
                continue
            truth = e["scores"]["babe2"][truth_key]
            pairs.append((check["value"], truth, check["threshold"], e["name"], path))
    v = np.array([p[0] for p in pairs])
    t = np.array([p[1] for p in pairs])
    limit = pairs[0][2]
    print(f"{len(pairs)} excerpts from {len(paths)} reports; check limit {limit} dB")
    print(f"correlation of the check with the truth: {np.corrcoef(v, t)[0, 1]:.2f}; "
          f"truth minus check: mean {np.mean(t - v):+.2f}, sd {np.std(t - v):.2f} dB")
    for label, sel in (("alarm, truth over +3 dB (right)", (v > limit) & (t > 3)),
                       ("alarm, truth within +3 dB (false alarm)", (v > limit) & (t <= 3)),
                       ("no alarm, truth over +3 dB (miss)", (v <= limit) & (t > 3)),
                       ("no alarm, truth within +3 dB", (v <= limit) & (t <= 3))):
        print(f"  {label:42s} {int(sel.sum()):4d}")
    for value, truth, _, name, path in pairs:
        if (value > limit) != (truth > 3):
            print(f"    {path.rsplit('/', 1)[-1][:34]:34s} {name[:36]:36s}"
                  f" check {value:+6.2f}  truth {truth:+6.2f}")


if __name__ == "__main__":
    against_truth(sys.argv[1:])
