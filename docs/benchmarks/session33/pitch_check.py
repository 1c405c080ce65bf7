"""Experiment record (session 33): the pitch tracker against the notes sung, clean and degraded.

Not shipped code. For each sung validation excerpt, the notes as `sing_excerpt` draws them (first draw)
give the true MIDI pitch of every 10 ms frame inside a note (80 ms after its start to 30 ms before its end);
`track_pitch` on the clean render and on the degraded master is scored: frames voiced, within 0.7
semitone, an octave low, an octave high.

Usage (PYTHONPATH=.): python pitch_check.py FIRST END CACHE
"""
import sys
from pathlib import Path

import numpy as np

from shellac.engine.dsp.pitch import track_pitch
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import hashing_seed, prepare_excerpts
from shellac.lab.heldout.sung import SungSpec, sung_line

SR = 22050


def main() -> None:
    first, end, cache = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    excerpts = prepare_excerpts(load_heldout("validation", kind="voice"), end, 5.5, SR, 0, cache, first=first,
                                log=lambda s: None)
    totals = np.zeros((2, 4))
    for i, e in zip(range(first, end), excerpts, strict=True):
        seed = int(hashing_seed(0, i))
        notes = sung_line(SungSpec(e.score, e.voice, SR, 5.5, seed), np.random.default_rng(seed))
        cells = []
        for k, signal in enumerate((e.clean, e.degraded[: e.clean.size])):
            track = track_pitch(signal, SR)
            truth = np.full(track.times_s.size, np.nan)
            for n in notes:
                t = track.times_s
                inside = (t >= n.start_s + 0.08) & (t < n.start_s + n.duration_s - 0.03)
                truth[inside] = n.midi
            sung = np.isfinite(truth)
            err = (track.midi() - truth)[sung]
            row = np.array([np.isfinite(err).mean(), np.mean(np.abs(err) < 0.7),
                            np.mean(np.abs(err + 12) < 0.7), np.mean(np.abs(err - 12) < 0.7)])
            totals[k] += row
            cells.append("voiced {:.2f} right {:.2f} octave low {:.2f} high {:.2f}".format(*row))
        print(f"{e.name[:34]:34s} clean: {cells[0]} | degraded: {cells[1]}")
    n = end - first
    print("mean clean: voiced {:.3f} right {:.3f} octave low {:.3f} high {:.3f}".format(*(totals[0] / n)))
    print("mean degraded: voiced {:.3f} right {:.3f} octave low {:.3f} high {:.3f}".format(*(totals[1] / n)))


if __name__ == "__main__":
    main()
