"""Experiment record (session 25): dropouts of 10-200 ms inside the music, diffusion inpainting against LSAR.

Not shipped code; a diagnostic (decides nothing). Per validation excerpt i in [FIRST, LAST) and per
gap length L in LENGTHS_MS: the clean render (5.5 s) with one dropout of exact zeros of L ms starting
at a point drawn in [1.0, 4.0] s from rng [0, i, 26, L], filled two ways:
  diffusion: the engine's inpaint() with the `inpaint` stage's defaults (InpaintParams, dropout
             detection off), the shipped models (piano; tenor / soprano by the excerpt's singer);
  lsar:      shellac.engine.dsp.lsar.lsar_fill (Janssen's least-squares AR interpolation) with one
             AR model of order 512 fitted on the 4096 samples either side of the gap.
Scores on the gap's samples against the clean render: SNR (dB), level error (fill energy over clean,
dB) and the log-spectral distance of the gap's spectrum (one Hann-windowed FFT over the gap, dB RMS
over bins from 50 Hz to 8 kHz where the clean spectrum is within 60 dB of its peak).

Usage: python gap_sweep.py CACHE piano|voice FIRST LAST OUT.json
       python gap_sweep.py summary OUT.json [...]
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

SR, SECONDS, SEED, ORDER, CONTEXT = 22050, 5.5, 0, 512, 4096
LENGTHS_MS = (10, 25, 50, 100, 200)


def lsar(given: np.ndarray, start: int, length: int) -> np.ndarray:
    """The gap filled by least-squares AR interpolation."""
    from shellac.engine.dsp.lsar import levinson, lsar_fill

    before, after = given[start - CONTEXT:start], given[start + length:start + length + CONTEXT]
    acf = sum(np.correlate(s, s, "full")[s.size - 1:s.size + ORDER] for s in (before, after))
    coeffs, _ = levinson(acf[None, :], ORDER)
    missing = np.zeros(given.size, dtype=bool)
    missing[start:start + length] = True
    return lsar_fill(given, missing, np.array([start]), np.array([start + length]), coeffs)


def scores(clean: np.ndarray, fill: np.ndarray) -> dict[str, float]:
    """SNR, level error and spectral distance of a fill against the clean gap."""
    c, e = clean.astype(np.float64), fill.astype(np.float64)
    w = np.hanning(c.size)
    n = max(2048, 1 << int(np.ceil(np.log2(c.size))))
    pc, pe = (np.abs(np.fft.rfft(s * w, n)) ** 2 for s in (c, e))
    f = np.fft.rfftfreq(n, 1 / SR)
    band = (f >= 50) & (f <= 8000) & (pc > pc.max() * 1e-6)
    lsd = np.sqrt(np.mean((10 * np.log10((pe[band] + 1e-20) / pc[band])) ** 2))
    return {"snr_db": float(10 * np.log10(np.sum(c ** 2) / max(np.sum((e - c) ** 2), 1e-30))),
            "level_db": float(10 * np.log10(max(np.sum(e ** 2), 1e-30) / np.sum(c ** 2))),
            "spectrum_lsd_db": float(lsd)}


def run(cache: Path, kind: str, first: int, last: int, out: Path) -> None:
    """Both fills of every gap of excerpts FIRST..LAST-1; scores to OUT."""
    from shellac.engine.models.bundle import load_bundle
    from shellac.engine.restoration.inpaint import inpaint
    from shellac.lab.heldout.material import load_heldout
    from shellac.lab.heldout.runner import prepare_excerpts
    from shellac.stages.inpaint import InpaintParams

    torch.set_num_threads(1)
    excerpts = prepare_excerpts(load_heldout("validation", kind=kind), last, SECONDS, SR, SEED, cache,
                                log=lambda _: None)
    rows = []
    for i in range(first, last):
        ex = excerpts[i]
        clean = ex.clean.astype(np.float32)
        model = ex.voice or "piano"
        bundle = load_bundle(Path("models") / model)
        settings = InpaintParams(model=model, detect_dropouts=False).inpaint_settings()
        for ms in LENGTHS_MS:
            length = int(ms * SR / 1000)
            start = int(np.random.default_rng([SEED, i, 26, ms]).uniform(1.0, 4.0) * SR)
            given = clean.copy()
            given[start:start + length] = 0.0
            work = out.parent / f"{out.stem}-work" / f"{ex.name}-{ms}"
            work.mkdir(parents=True, exist_ok=True)
            src, dst = work / "input.wav", work / "filled.wav"
            sf.write(src, given, SR, subtype="FLOAT")
            t0 = time.monotonic()
            inpaint(src, dst, bundle, [(start, length)], settings, work=work / "engine")
            t1 = time.monotonic()
            diffusion = sf.read(dst, dtype="float32")[0][start:start + length]
            ar = lsar(given.astype(np.float64), start, length)[start:start + length]
            t2 = time.monotonic()
            gap = clean[start:start + length]
            row = {"excerpt": ex.name, "model": model, "gap_ms": ms, "gap_start": start,
                   "diffusion": scores(gap, diffusion), "lsar": scores(gap, ar),
                   "seconds": {"diffusion": round(t1 - t0, 1), "lsar": round(t2 - t1, 1)}}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out.write_text(json.dumps({"kind": kind, "first": first, "last": last, "rows": rows}, indent=1))


def summary(paths: list[Path]) -> None:
    """Per kind and gap length: both fills' mean SNR, |level error|, spectral distance; LSAR's wins."""
    for path in paths:
        report = json.loads(path.read_text())
        for ms in LENGTHS_MS:
            # a gap where the clean render is silent (a sung line's rest) has no SNR: left out
            rows = [r for r in report["rows"] if r["gap_ms"] == ms and np.isfinite(r["lsar"]["snr_db"])]
            if not rows:
                continue
            m = {k: {s: np.mean([abs(r[k][s]) if s == "level_db" else r[k][s] for r in rows])
                     for s in ("snr_db", "level_db", "spectrum_lsd_db")} for k in ("diffusion", "lsar")}
            wins = sum(r["lsar"]["snr_db"] > r["diffusion"]["snr_db"] for r in rows)
            swins = sum(r["lsar"]["spectrum_lsd_db"] < r["diffusion"]["spectrum_lsd_db"] for r in rows)
            print(f"{report['kind']:5s} {ms:4d} ms ({len(rows)}): "
                  f"SNR diffusion {m['diffusion']['snr_db']:+6.2f}, "
                  f"LSAR {m['lsar']['snr_db']:+6.2f} (LSAR higher on {wins}); |level| "
                  f"{m['diffusion']['level_db']:5.2f} / {m['lsar']['level_db']:5.2f}; spectrum LSD "
                  f"{m['diffusion']['spectrum_lsd_db']:5.2f} / {m['lsar']['spectrum_lsd_db']:5.2f} dB "
                  f"(LSAR lower on {swins})")


if __name__ == "__main__":
    if sys.argv[1] == "summary":
        summary([Path(p) for p in sys.argv[2:]])
    else:
        run(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5]))
