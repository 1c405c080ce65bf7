"""Print the oracle chain-fit errors: fitted against the true clean signal on seeded random 78 rpm chains.

For each seed, random notes (shellac.lab.synthesis.random_notes) are degraded by the
seed's random chain (shellac.lab.degradation: horn band-pass with resonances, hiss,
clicks, crackle, saturation); the chain is fitted with the true clean signal as the
reference and scored over the pass band (RMS dB, gain removed) against the true
response, together with its projection onto BABE-2's filter and BABE-2's own start.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python scripts/oracle_chain_fit.py --seeds 0-9``.
"""

from __future__ import annotations

import argparse

import numpy as np

from shellac.lab.evaluation.chain_oracle import oracle_fit


def seed_list(text: str) -> list[int]:
    """'0-9' or '1,4,7'."""
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sample-rate", type=int, default=22050)
    args = parser.parse_args(argv)
    print(f"{'seed':>4s} {'hp Hz':>6s} {'lp Hz':>6s} {'res':>3s} {'SNR dB':>6s} | {'chain fit':>9s} "
          f"{'BABE-2 proj.':>12s} {'BABE-2 start':>12s}  (pass-band RMS error, dB)")
    rows = []
    for seed in seed_list(args.seeds):
        r = oracle_fit(seed, sample_rate=args.sample_rate, seconds=args.seconds)
        rows.append((r.chain_error_db, r.projected_error_db, r.default_error_db))
        print(f"{seed:4d} {r.chain.highpass_hz:6.0f} {r.chain.lowpass_hz:6.0f} {len(r.chain.resonances):3d} "
              f"{r.chain.hiss_snr_db:6.1f} | {r.chain_error_db:9.2f} {r.projected_error_db:12.2f} "
              f"{r.default_error_db:12.2f}")
    mean, worst = np.mean(rows, axis=0), np.max(rows, axis=0)
    print(f"mean {'':>26s} | {mean[0]:9.2f} {mean[1]:12.2f} {mean[2]:12.2f}")
    print(f"max  {'':>26s} | {worst[0]:9.2f} {worst[1]:12.2f} {worst[2]:12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
