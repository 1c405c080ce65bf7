"""Experiment record (session 16): per-font and overall means of residual_validation.py outputs."""
import json
import sys
from pathlib import Path

import numpy as np

rows_by_font = {Path(p).stem.rsplit("-", 1)[-1]: json.loads(Path(p).read_text())["excerpts"]
                for p in sys.argv[1:]}
every = [r for rows in rows_by_font.values() for r in rows]
keys = [k for k in every[0] if k != "name" and not k.endswith("_fit")]
variants = [k for k in keys if k not in ("input", "ltas_eq", "shipped")]
for font, rows in [*rows_by_font.items(), (f"all {len(every)}", every)]:
    means = {k: [float(np.mean([r[k][i] for r in rows])) for i in (0, 1)] for k in keys}
    print(f"{font:14s}", " ".join(f"{k} {m[0]:.3f}/{m[1]:.3f}" for k, m in means.items()))
    print(f"{'':14s}", " ".join(f"{k}-shipped {means[k][0] - means['shipped'][0]:+.3f}/"
                                f"{means[k][1] - means['shipped'][1]:+.3f}" for k in variants))
for k in ("shipped", *variants):
    for other in ("ltas_eq", "input"):
        wins = [sum(r[k][i] < r[other][i] for r in every) for i in (0, 1)]
        print(f"{k} beats {other}: LSD {wins[0]}/{len(every)}, LTAS error {wins[1]}/{len(every)}")
