"""Experiment record (session 33): the pass-band LTAS error beside one limited to the bands the music fills.

Not shipped code, no sampling; a measure added beside `ltas_error_db`, not instead of it. `ltas_error_db`
weighs every third-octave point of the pass band alike, also those 30-40 dB under the music's loudest band,
where (session 33, `denoise_octaves.py`) the voice denoise removes breath noise with the hiss. The second
figure is the same RMS difference, mean removed, over the pass-band points where the clean render's smoothed
LTAS is within LIMIT dB (30) of its maximum in the pass band. Read from the rule's runs (the files their
`voice` work folders hold; run_chain is not called, since a later commit's code hash would run the steps
again): the untouched input, LTAS-EQ (`voice-ltas`), the EQ step and the access copy, both runs, and the
wins against the input on each measure.

Usage (PYTHONPATH=.): python audible_balance.py FIRST END SHIPPED_CACHE CANDIDATE_CACHE
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.lab.evaluation.metrics import interp_log_freq, log_grid, pass_band
from shellac.lab.evaluation.spectral_balance import smoothed_ltas_db
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, HeldoutExcerpt, catalog_run, prepare_excerpts

SR = 22050
LIMIT_DB = 30.0
CANDIDATE = ChainRun("voice", {"ltas_eq": {"match_register": True}})


def read(e: HeldoutExcerpt, run: ChainRun, relative: str) -> np.ndarray:
    """A file of the run's work folder for ``e`` (mono, the excerpt's length), as the run left it."""
    work = e.master.parent / catalog_run(run, e.voice).key()
    audio = sf.read(next(work.glob(relative)), dtype="float64")[0]
    return (audio.mean(axis=1) if audio.ndim > 1 else audio)[: e.clean.size]


def errors(e: HeldoutExcerpt, estimate: np.ndarray) -> tuple[float, float]:
    """(pass-band LTAS error, the same over the points within LIMIT_DB of the clean LTAS's maximum)."""
    grid, freqs = log_grid(SR / 2.0, 256), np.fft.rfftfreq(2048, 1 / SR)
    clean = interp_log_freq(grid, freqs, smoothed_ltas_db(e.clean, SR))
    diff = interp_log_freq(grid, freqs, smoothed_ltas_db(estimate, SR)) - clean
    band = pass_band(grid, interp_log_freq(grid, e.response_freqs_hz, e.response_db), SR / 2.0)
    loud = band & (clean >= clean[band].max() - LIMIT_DB)
    out = []
    for mask in (band, loud):
        d = diff[mask] - diff[mask].mean()
        out.append(float(np.sqrt(np.mean(d**2))))
    return out[0], out[1]


def main() -> None:
    first, end = int(sys.argv[1]), int(sys.argv[2])
    caches = {"shipped": Path(sys.argv[3]), "register": Path(sys.argv[4])}
    part = load_heldout("validation", kind="voice")
    rows: dict[str, list[tuple[float, float]]] = {}
    for label, cache in caches.items():
        run = ChainRun("voice") if label == "shipped" else CANDIDATE
        for e in prepare_excerpts(part, end, 5.5, SR, 0, cache, first=first, log=lambda s: None):
            if label == "shipped":
                rows.setdefault("input", []).append(errors(e, e.degraded[: e.clean.size]))
                rows.setdefault("LTAS-EQ", []).append(errors(e, read(e, ChainRun("voice-ltas"), "x.flac")))
            rows.setdefault(f"{label} EQ step", []).append(errors(e, read(e, run, "0*-ltas_eq/audio.wav")))
            rows.setdefault(f"{label} access", []).append(errors(e, read(e, run, "x.flac")))
    summary(rows, first, end)


def summary(rows: dict[str, list[tuple[float, float]]], first: int, end: int) -> None:
    """Print each row's two mean errors and its wins against the ``input`` row on each."""
    base = np.array(rows["input"])
    print(f"{end - first} excerpts {first}-{end - 1}; LTAS error over the pass band / over the points within "
          f"{LIMIT_DB:.0f} dB of the clean maximum; excerpts beating the untouched input on each")
    for label, values in rows.items():
        v = np.array(values)
        wins = (v < base).sum(axis=0)
        print(f"{label:18s} {v[:, 0].mean():6.3f} / {v[:, 1].mean():6.3f}   wins {wins[0]:2d} / {wins[1]:2d}")


if __name__ == "__main__":
    main()
