"""Fan-out overhead on a warm worker: a model-free catalog run through the server deployments.

Writes a catalog of short harmonic-tone masters (profile ``piano-ltas``: ingest, denoise,
LTAS-EQ, tag; one CPU run per recording), then runs ``scripts/server_integration.sh`` on it:
a throwaway PostgreSQL and Prefect server, the pools and deployments, one CPU worker, and one
run of the ``demo`` collection deployment pointed at this catalog. The summary's
``orchestration`` block it prints gives ``overhead_per_recording_s`` (a recording run's span
from creation to end, minus its stage time) and ``fan_out.waiting_for_start_s``.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/bench_fanout.py --recordings 6 --seconds 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SR = 22050


def tone(seconds: float, f0: float, seed: int) -> np.ndarray:
    """A gated harmonic tone with hiss."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    signal = sum(0.2 / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 12)) * ((t % 1.0) < 0.6)
    return (signal + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def write_catalog(root: Path, recordings: int, seconds: float) -> Path:
    """A model-free catalog of ``recordings`` tones of ``seconds`` each."""
    masters, ref = root / "masters", root / "reference"
    masters.mkdir(parents=True)
    ref.mkdir()
    for i in range(recordings):
        sf.write(masters / f"r{i}.wav", tone(seconds, 220.0 + 40 * i, i), SR, subtype="PCM_16")
    sf.write(ref / "clean.wav", tone(3.0, 330.0, 99), SR)
    rows = "\n".join(f"r{i},r{i}.wav,Tone {i},piano" for i in range(recordings))
    (root / "catalog.csv").write_text(f"id,file,title,content\n{rows}\n", encoding="utf-8")
    (root / "collection.toml").write_text(
        f'name = "fanout"\nsource_root = "masters"\noutput_root = "{root / "out"}"\n'
        '[profiles]\npiano = "piano-ltas"\n'
        '[profile_overrides.piano-ltas.ltas_eq]\nreference = "reference"\n', encoding="utf-8")
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recordings", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = write_catalog(Path(tmp) / "catalog", args.recordings, args.seconds)
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        return subprocess.run(["bash", str(ROOT / "scripts" / "server_integration.sh"), str(catalog)],
                              cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
