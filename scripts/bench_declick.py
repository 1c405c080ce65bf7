"""Declicker benchmark: planted-click recall, false alarms per second and repair residual on rendered piano.

Each excerpt is piano rendered with FluidSynth from a music21 score (the piano
training-data pool of make_training_data.py, none held out; one soundfont, no
room, no pedal), scaled to a 0.5 peak, sent through a random 78 chain (horn
band-pass with resonances, tanh saturation, hiss at 25-40 dB SNR) and given
5-13 clicks of 3-30 samples at 0.2-0.6 peak (``shellac.lab.evaluation.clicks``).
The declicker (``shellac.engine.dsp.declick``), with its default settings unless
overridden, then runs on it.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python scripts/bench_declick.py --excerpts 20 --seed 0``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_demo  # noqa: E402  (scripts/ is not a package; reuse its renderer)
import make_training_data  # noqa: E402

from shellac.engine.dsp.declick import declick  # noqa: E402
from shellac.lab.evaluation.clicks import ClickScore, plant_clicks, score_clicks  # noqa: E402


def render_excerpts(n: int, seconds: float, sample_rate: int, soundfont: Path | None,
                    rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """``n`` piano clips of ``seconds`` at ``sample_rate``: (score path and start, samples)."""
    tools = [make_demo.find_tools(soundfont)]
    pool = make_training_data.score_pool("piano")
    cache: dict[str, Any] = {}
    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(n):
            # One soundfont, no room and no pedal: the material the declicker was benchmarked on.
            audio, info = make_training_data.render_piano(rng, pool, tools, sample_rate, seconds, cache,
                                                          Path(tmp), room_fraction=0.0, pedal_fraction=0.0)
            name = f"{Path(info['score']).parent.name}/{Path(info['score']).stem}@{info['start_ql']}"
            clips.append((name, audio))
    return clips


def main(argv: list[str] | None = None) -> int:
    """Render, degrade, declick and print per-excerpt and mean scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--excerpts", type=int, default=20, help="number of excerpts")
    parser.add_argument("--seconds", type=float, default=5.5, help="excerpt length, s")
    parser.add_argument("--sample-rate", type=int, default=44100, help="Hz")
    parser.add_argument("--seed", type=int, default=0, help="seeds rendering, chains and clicks")
    parser.add_argument("--soundfont", type=Path, default=None,
                        help="General MIDI .sf2 (default FluidR3_GM, else TimGM6mb)")
    parser.add_argument("--threshold", type=float, default=None, help="declick threshold override")
    parser.add_argument("--order", type=int, default=None, help="declick AR order override")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    clips = render_excerpts(args.excerpts, args.seconds, args.sample_rate, args.soundfont, rng)
    overrides = {k: v for k, v in (("threshold", args.threshold), ("order", args.order)) if v is not None}
    print("$ " + shlex.join(["scripts/bench_declick.py", *(argv if argv is not None else sys.argv[1:])]))
    print(f"declick overrides: {overrides or 'none (defaults)'}")
    print(f"{'excerpt':<38} {'snr':>5} {'planted':>7} {'found':>5} {'false':>5} {'in dB':>7} {'out dB':>7}")
    scores: list[ClickScore] = []
    for name, clean in clips:
        planted = plant_clicks(clean / np.max(np.abs(clean)), args.sample_rate, rng)
        repaired, click_map = declick(planted.degraded, args.sample_rate, **overrides)
        score = score_clicks(planted, repaired,
                             np.array([c.start for c in click_map.clicks], dtype=np.int64),
                             np.array([c.length for c in click_map.clicks], dtype=np.int64))
        scores.append(score)
        print(f"{name[:38]:<38} {planted.hiss_snr_db:5.1f} {score.planted:7d} {score.found:5d} "
              f"{score.false_alarms:5d} {score.input_db:7.1f} {score.residual_db:7.1f}")
    planted_total = sum(s.planted for s in scores)
    recall = sum(s.found for s in scores) / planted_total
    false_rate = sum(s.false_alarms for s in scores) / sum(s.seconds for s in scores)
    print(f"recall {recall:.3f} ({sum(s.found for s in scores)}/{planted_total}); "
          f"false alarms {false_rate:.2f}/s ({sum(s.false_alarms for s in scores)} in "
          f"{sum(s.seconds for s in scores):.1f} s); min recall per excerpt "
          f"{min(s.recall for s in scores):.2f}")
    before, after = np.mean([s.input_db for s in scores]), np.mean([s.residual_db for s in scores])
    print(f"error vs click-free in the spans, dB re signal: input {before:.1f}, repaired {after:.1f} "
          "(mean over excerpts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
