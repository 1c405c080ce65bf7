"""Experiment record (session 24): tail rule 5's verdict from the shipped and candidate reports and caches.

Not shipped code. Rule 5 is in docs/benchmarks/session23/tail_rule.txt. The swell measure is
session 23's swell_measure_check.own_end_rise, imported unchanged (END 0.2 s, FLAT 4 dB). Prints per
excerpt the access copy's (babe2_gated) LSD / LTAS error of both, the do-nothing input's and the EQ
step's for reference, the gate decisions and both end rises; then the means and the verdict.

Usage: python rule5_verdict.py SHIPPED.json SHIPPED_CACHE VARIANT.json VARIANT_CACHE
"""
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "session23"))
from swell_measure_check import own_end_rise  # noqa: E402

END_S, FLAT_DB = 0.2, 4.0
MIN_SCORED, TOP_RISE_DB, MEAN_FALL_DB = 8, 3.0, 3.0
LSD_BAR_DB, LTAS_BAR_DB = 0.05, 0.10


def run_folder(cache: Path, name: str) -> Path:
    """The one voice run folder of excerpt ``name`` in ``cache``."""
    runs = [r for d in (cache / "excerpts").iterdir() if d.name.startswith(name + "-") for r in d.iterdir()
            if re.fullmatch(r"voice-[0-9a-f]{10}", r.name)]
    if len(runs) != 1:
        raise SystemExit(f"{cache}: expected one voice run of {name}, found {[str(r) for r in runs]}")
    return runs[0]


def main() -> None:
    """Print the table, the means and the verdict."""
    shipped_json, shipped_cache, variant_json, variant_cache = sys.argv[1:5]
    shipped, variant = ({e["name"]: e for e in json.loads(Path(p).read_text())["excerpts"]}
                        for p in (shipped_json, variant_json))
    names = [n for n in shipped if n in variant]
    harm, rises = [], []
    for name in names:
        s, v = shipped[name]["scores"], variant[name]["scores"]
        harm.append([s["babe2_gated"]["lsd_db"], s["babe2_gated"]["ltas_err_db"],
                     v["babe2_gated"]["lsd_db"], v["babe2_gated"]["ltas_err_db"]])
        rs, rv = (own_end_rise(run_folder(Path(c), name), END_S, FLAT_DB) for c in (shipped_cache, variant_cache))
        gates = [r[name]["gates"]["babe2_gated"]["decision"] for r in (shipped, variant)]
        swell = "not scored" if rs is None or rv is None else f"end rise {rs:+5.1f} -> {rv:+5.1f}"
        if rs is not None and rv is not None:
            rises.append([rs, rv])
        print(f"{name[:40]:40s} input {s['input']['lsd_db']:.2f} / {s['input']['ltas_err_db']:.2f}  "
              f"eq {s['eq_step']['lsd_db']:.2f} / {s['eq_step']['ltas_err_db']:.2f}  "
              f"access shipped {harm[-1][0]:.2f} / {harm[-1][1]:.2f} -> variant {harm[-1][2]:.2f} / "
              f"{harm[-1][3]:.2f}  gate {gates[0]}->{gates[1]}  {swell}")
    h = np.array(harm)
    m = h.mean(axis=0)
    print(f"means over {len(h)}: access copy shipped {m[0]:.3f} / {m[1]:.3f}, variant {m[2]:.3f} / {m[3]:.3f}")
    d_lsd, d_ltas = m[2] - m[0], m[3] - m[1]
    worst = int(np.argmax(h[:, 3] - h[:, 1]))
    print(f"largest excerpt LTAS rise (reported, not barred): {h[worst, 3] - h[worst, 1]:+.3f} ({names[worst]})")
    ok_c = d_lsd <= LSD_BAR_DB and d_ltas <= LTAS_BAR_DB
    print(f"(c) mean LSD {d_lsd:+.3f} (bar <= +{LSD_BAR_DB}), mean LTAS error {d_ltas:+.3f} "
          f"(bar <= +{LTAS_BAR_DB}): {'passes' if ok_c else 'fails'}")
    if len(rises) < MIN_SCORED:
        print(f"(a) {len(rises)} of {len(names)} scored (bar >= {MIN_SCORED}): NO VERDICT")
        return
    r = np.array(rises)
    d_rise, top = float(r[:, 1].mean() - r[:, 0].mean()), float(r[:, 1].max())
    ok_b = top <= TOP_RISE_DB and d_rise <= -MEAN_FALL_DB
    print(f"(a) {len(rises)} of {len(names)} scored: passes")
    print(f"(b) mean end rise {r[:, 0].mean():+.2f} -> {r[:, 1].mean():+.2f} ({d_rise:+.2f}, bar <= "
          f"-{MEAN_FALL_DB}), largest candidate end rise {top:+.2f} (bar <= +{TOP_RISE_DB}): "
          f"{'passes' if ok_b else 'fails'}")
    print(f"rule 5: {'PASSES' if ok_b and ok_c else 'FAILS'}")


if __name__ == "__main__":
    main()
