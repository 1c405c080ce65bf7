"""Experiment record (session 35): what moved the second voice rule's band above the cut-off.

Not shipped code. Session 34's second voice rule (denoise `minimum` + 6 dB/oct) left the access copies'
band above the chain's cut-off 1.1 dB further under clean than the shipped run's, though its EQ step
left that band 1.4 dB nearer clean. Per excerpt (370-393, both runs' `filters.json` from their caches,
VS and VC2, and their reports), this compares the change in the generative output's band above the
cut-off (bench-heldout `high_band_db`, the `babe2` row) with three candidate causes: the change in the
consistency step's generated gain g (20 log10, `consistency.generated_gain`: the level the whole
generated sample takes, so also the level of everything it generates beyond the signal range), the
change in the blind filter's stop band (mean fitted response above the cut-off less its mean in the
pass band, over the blocks), and the change in the EQ step's band above the cut-off.

Usage: python high_band_gain.py REPORT_DIR VS VC2
"""
import glob
import json
import sys
from pathlib import Path

import numpy as np


def _filters(cache: str, name: str) -> dict:
    (path,) = glob.glob(f"{cache}/excerpts/{name[:3]}-*/voice-[0-9a-f]*/03-generative_eq/filters.json")
    return json.loads(Path(path).read_text())


def main() -> None:
    reports, caches = sys.argv[1], {"shipped": sys.argv[2], "slope6": sys.argv[3]}
    rep = {k: json.loads(Path(f"{reports}/vval-s34-{k}-370.json").read_text()) for k in caches}
    rows = []
    print("excerpt  high band (gen) shipped -> slope6 | 20 log g shipped -> slope6")
    for i in range(len(rep["shipped"]["excerpts"])):
        per = []
        for k, cache in caches.items():
            e = rep[k]["excerpts"][i]
            s, chain = e["scores"], e["chain"]
            f = _filters(cache, e["name"])
            freqs = np.array(f["freqs_hz"])
            response = np.array([b["filter_response_db"] for b in f["blocks"]]).mean(axis=0)
            freqs = freqs[: response.size]
            stop = (response[freqs > chain["lowpass_hz"]].mean()
                    - response[(freqs > chain["highpass_hz"]) & (freqs < chain["lowpass_hz"])].mean())
            per.append((s["babe2"]["high_band_db"], 20 * np.log10(f["consistency"]["generated_gain"]), stop,
                        s["eq_step"]["high_band_db"]))
        (h0, g0, f0, q0), (h1, g1, f1, q1) = per
        rows.append([h1 - h0, g1 - g0, f1 - f0, q1 - q0, h0 - g0, h1 - g1])
        print(f"{e['name'][:3]}      {h0:+6.2f} -> {h1:+6.2f}            | {g0:+6.2f} -> {g1:+6.2f}")
    r = np.array(rows)
    for label, col in (("generated gain g", 1), ("blind filter stop band", 2), ("EQ step's band", 3)):
        corr = np.corrcoef(r[:, 0], r[:, col])[0, 1]
        print(f"corr(change in the generated band, change in the {label}) = {corr:+.2f}")
    print(f"mean change: generated band {r[:, 0].mean():+.2f} dB, 20 log g {r[:, 1].mean():+.2f} dB; "
          f"least-squares slope {np.polyfit(r[:, 1], r[:, 0], 1)[0]:.2f}")
    print(f"generated band less 20 log g (the sample before the gain): shipped {r[:, 4].mean():+.2f}, "
          f"slope6 {r[:, 5].mean():+.2f} dB")


if __name__ == "__main__":
    main()
