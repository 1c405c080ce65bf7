"""Score a finished demo run against the demo's truth: response estimates, NaN, clipping, bandwidth.

    .venv/bin/python scripts/eval_demo.py [catalogs/demo]

For every restored recording the degradation response that LTAS-EQ alone and
LTAS-EQ followed by BABE-2 estimated is compared with the true response kept in
truth/<id>.degradation.json: RMS dB error over the pass band, gain removed
(shellac.lab.evaluation.metrics.filter_error_db). Both are read from the
audio the same way (effective_response_db: third-octave LTAS of the stage chain's
input, the denoised signal, minus that of its output), at the model's rate.

The BABE-2 blind filter's own parameters (the per-block filter on top of the
LTAS-EQ curve, averaged over blocks) are scored too, as a diagnostic: that filter
steers the sampler's guidance and is not what reaches the listener.

The access copy is checked for NaN and clipping, and the share of energy above the
degradation's low-pass cutoff is given for the clean truth, the degraded master,
the LTAS-EQ output and the access copy. The log-spectral distance to the clean truth
(shellac.lab.evaluation.metrics.lsd, level aligned) is given for the LTAS-EQ output and
the access copy, at the model's rate.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shellac.catalogs import load_catalog  # noqa: E402
from shellac.engine.audio_io import read_audio  # noqa: E402
from shellac.engine.dsp.ltas import compute_ltas  # noqa: E402
from shellac.engine.dsp.resample import resample  # noqa: E402
from shellac.jobs import collection_status  # noqa: E402
from shellac.lab.evaluation.metrics import (  # noqa: E402
    effective_response_db,
    filter_error_db,
    interp_log_freq,
    log_grid,
    lsd,
)


def _stage_dirs(rec_dir: Path) -> list[Path]:
    return sorted(p for p in rec_dir.iterdir() if p.is_dir() and p.name[:2].isdigit())


def _named(dirs: list[Path], stage: str) -> Path | None:
    return next((d for d in dirs if d.name.endswith(f"-{stage}")), None)


def mono_at(path: Path, sample_rate: int) -> np.ndarray:
    """A file as mono at ``sample_rate``."""
    audio, sr = read_audio(path)
    mono = audio.mean(axis=0)
    return resample(mono[None], sr, sample_rate)[0] if sr != sample_rate else mono


def above_cutoff_db(signal: np.ndarray, sample_rate: int, cutoff_hz: float) -> float:
    """Energy above the cutoff relative to the whole spectrum (dB), from the LTAS."""
    ltas = compute_ltas(signal, sample_rate, 2048)
    return float(10 * np.log10(ltas.power[ltas.freqs_hz >= cutoff_hz].sum() / ltas.power.sum()))


def main() -> int:
    catalog = load_catalog(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "catalogs" / "demo"))
    truth_dir = catalog.directory / "truth"
    print("| recording | profile | response error LTAS-EQ (dB) | response error LTAS-EQ + BABE-2 (dB) | "
          "blind-filter error (dB, diagnostic) | NaN | clipped samples | "
          "energy above cutoff: clean / degraded / LTAS-EQ / restored (dB) | "
          "LSD to clean: LTAS-EQ / access copy (dB) |")
    print("|---|---|---:|---:|---:|---|---:|---|---|")
    for entry in collection_status(catalog):
        rec, state = entry.recording, entry.state
        if state is None or state.status != "done":
            print(f"| {rec.id} | {state.profile if state else ''} | not restored | | | | | | |")
            continue
        truth = json.loads((truth_dir / f"{rec.id}.degradation.json").read_text())
        dirs = _stage_dirs(entry.directory)
        eq_dir, gen_dir = _named(dirs, "ltas_eq"), _named(dirs, "generative_eq")
        if eq_dir is None or gen_dir is None:
            print(f"| {rec.id} | {state.profile} | profile has no ltas_eq + generative_eq | | | | | | |")
            continue
        filters = json.loads((gen_dir / "filters.json").read_text())
        sr = int(filters["sample_rate"])
        nyquist = sr / 2
        grid = log_grid(nyquist)
        true_db = interp_log_freq(grid, np.asarray(truth["response"]["freqs_hz"]),
                                  np.asarray(truth["response"]["gain_db"]))
        before = mono_at(dirs[dirs.index(eq_dir) - 1] / "audio.wav", sr)
        equalised = mono_at(eq_dir / "audio.wav", sr)
        restored = mono_at(gen_dir / "audio.wav", sr)
        eq_error, babe_error = (
            filter_error_db(grid, effective_response_db(before, after, sr, grid), true_db, nyquist)
            for after in (equalised, restored))

        curves = json.loads((eq_dir / "ltas.json").read_text())
        applied = -np.asarray(curves["applied_gain_db"])
        eq_curve = interp_log_freq(grid, np.asarray(curves["freqs_hz"]), applied)
        responses = [b["filter_response_db"] for b in filters["blocks"] if b.get("filter_response_db")]
        blind = interp_log_freq(grid, np.asarray(filters["freqs_hz"]), np.mean(np.asarray(responses), axis=0))
        blind_error = filter_error_db(grid, eq_curve + blind, true_db, nyquist)

        access, access_sr = read_audio(entry.directory / f"{rec.id}.flac")
        nan = "yes" if not np.isfinite(access).all() else "no"
        clipped = int(np.sum(np.abs(access) >= 0.999))
        cutoff = float(truth["params"]["lowpass_hz"])
        shares = [above_cutoff_db(mono_at(path, sr), sr, cutoff) for path in (
            truth_dir / f"{rec.id}.clean.flac", entry.directory / "00-ingest" / "audio.wav",
            eq_dir / "audio.wav", entry.directory / f"{rec.id}.flac")]
        clean = mono_at(truth_dir / f"{rec.id}.clean.flac", sr)
        distances = []
        for path in (eq_dir / "audio.wav", entry.directory / f"{rec.id}.flac"):
            estimate = mono_at(path, sr)
            n = min(clean.size, estimate.size)
            distances.append(lsd(clean[:n], estimate[:n]))
        print(f"| {rec.id} | {state.profile} | {eq_error:.2f} | {babe_error:.2f} | {blind_error:.2f} | "
              f"{nan} | {clipped} | {' / '.join(f'{s:.1f}' for s in shares)} (above {cutoff:.0f} Hz) | "
              f"{distances[0]:.2f} / {distances[1]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
