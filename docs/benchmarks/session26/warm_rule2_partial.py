"""Rule 2's partial means (the runs stopped): rows matched across the three logs."""
import json
import sys

import numpy as np


def load(f: str) -> list[dict]:
    return [json.loads(line) for line in open(f) if line.startswith('{"excerpt')]


sh, a, b = (load(f) for f in sys.argv[1:4])
n = min(len(sh), len(a), len(b))
print(f"rows matched in all three logs: {n} (excerpts {sh[0]['excerpt']}-{sh[n - 1]['excerpt']})")
for ms in (75, 100, 150, 200, 400):
    rows = [r for r in zip(sh[:n], a[:n], b[:n], strict=True) if r[0]["gap_ms"] == ms]
    same = all(x["sha256"] == y["sha256"] == z["sha256"] for x, y, z in rows)
    rows = [r for r in rows if np.isfinite(r[0]["scores"]["snr_db"])]

    def m(i: int, k: str, rows: list = rows) -> float:
        return float(np.mean([abs(r[i]["scores"][k]) if k == "level_db" else r[i]["scores"][k] for r in rows]))

    cells = [f"{name} {m(i, 'snr_db'):+.2f} / {m(i, 'level_db'):.2f} / {m(i, 'spectrum_lsd_db'):.2f}"
             for i, name in enumerate(("shipped", "w0.25", "w0.1"))]
    print(f"{ms} ms ({len(rows)} scored): SNR / |level| / spectrum LSD dB: " + "; ".join(cells)
          + f"; all three identical: {same}")
