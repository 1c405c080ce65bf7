"""Score a finished demo run against the demo's truth: response estimates, NaN, clipping, bandwidth.

    .venv/bin/python scripts/eval_demo.py [catalogs/demo]

For every restored recording, the degradation response estimated by LTAS-EQ
alone (its difference curve) and by LTAS-EQ followed by BABE-2 (difference
curve plus the blind filter, averaged over blocks) is compared with the true
response kept in truth/<id>.degradation.json: RMS dB error over the pass band,
gain removed (shellac.engine.evaluation.metrics.filter_error_db). The access copy
is checked for NaN and clipping, and the energy above the degradation's low-pass
cutoff is compared before (ingest) and after (access copy).
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
from shellac.engine.evaluation.metrics import filter_error_db, interp_log_freq, log_grid  # noqa: E402
from shellac.jobs import collection_status  # noqa: E402


def _stage_dir(rec_dir: Path, stage: str) -> Path | None:
    found = sorted(rec_dir.glob(f"*-{stage}"))
    return found[0] if found else None


def band_energy_db(path: Path, lo_hz: float, hi_hz: float) -> float:
    """Energy between lo and hi relative to the whole spectrum (dB), of a file's LTAS."""
    audio, sr = read_audio(path)
    ltas = compute_ltas(audio, sr, 2048)
    band = (ltas.freqs_hz >= lo_hz) & (ltas.freqs_hz <= hi_hz)
    return float(10 * np.log10(ltas.power[band].sum() / ltas.power.sum()))


def main() -> int:
    catalog = load_catalog(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "catalogs" / "demo"))
    truth_dir = catalog.directory / "truth"
    print("| recording | profile | filter error LTAS-EQ (dB) | filter error LTAS-EQ + BABE-2 (dB) | "
          "NaN | clipped samples | energy above cutoff before → after (dB) |")
    print("|---|---|---:|---:|---|---:|---|")
    for entry in collection_status(catalog):
        rec, state = entry.recording, entry.state
        if state is None or state.status != "done":
            print(f"| {rec.id} | {state.profile if state else ''} | not restored | | | | |")
            continue
        truth = json.loads((truth_dir / f"{rec.id}.degradation.json").read_text())
        true_f = np.asarray(truth["response"]["freqs_hz"])
        true_db = np.asarray(truth["response"]["gain_db"])
        eq_dir, gen_dir = _stage_dir(entry.directory, "ltas_eq"), _stage_dir(entry.directory, "generative_eq")
        filters = json.loads((gen_dir / "filters.json").read_text()) if gen_dir else None
        nyquist = (filters["sample_rate"] if filters else 22050) / 2
        grid = log_grid(nyquist)
        truth_on_grid = interp_log_freq(grid, true_f, true_db)
        eq_error = babe_error = "—"
        eq_curve = np.zeros_like(grid)
        if eq_dir:
            curves = json.loads((eq_dir / "ltas.json").read_text())
            applied = -np.asarray(curves["applied_gain_db"])
            eq_curve = interp_log_freq(grid, np.asarray(curves["freqs_hz"]), applied)
            eq_error = f"{filter_error_db(grid, eq_curve, truth_on_grid, nyquist):.2f}"
        if filters:
            responses = [b["filter_response_db"] for b in filters["blocks"] if b.get("filter_response_db")]
            mean_filter = np.mean(np.asarray(responses), axis=0)
            filt = interp_log_freq(grid, np.asarray(filters["freqs_hz"]), mean_filter)
            babe_error = f"{filter_error_db(grid, eq_curve + filt, truth_on_grid, nyquist):.2f}"
        access, sr = read_audio(entry.directory / f"{rec.id}.flac")
        nan = "yes" if not np.isfinite(access).all() else "no"
        clipped = int(np.sum(np.abs(access) >= 0.999))
        cutoff = float(truth["params"]["lowpass_hz"])
        top = min(nyquist, sr / 2)
        before = band_energy_db(entry.directory / "00-ingest" / "audio.wav", cutoff, top)
        after = band_energy_db(entry.directory / f"{rec.id}.flac", cutoff, top)
        print(f"| {rec.id} | {state.profile} | {eq_error} | {babe_error} | {nan} | {clipped} | "
              f"{before:.1f} → {after:.1f} ({cutoff:.0f}–{top:.0f} Hz) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
