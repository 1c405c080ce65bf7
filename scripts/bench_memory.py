"""Peak memory of the restoration chain for recordings of different lengths (issue: bounded memory).

Each run is a fresh child process (so its peak RSS is its own) restoring one
synthetic recording through a profile with the plain-Python chain (no Prefect).
Memory should follow the chunk and block sizes, not the recording's length.

    .venv/bin/python scripts/bench_memory.py --minutes 1 10
    .venv/bin/python scripts/bench_memory.py --minutes 1 10 --model models/piano --profile piano
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
from pathlib import Path
from shellac.stages.chain import RecordingJob, job_plan, run_plan
job = RecordingJob.model_validate_json(Path(sys.argv[1]).read_text())
t = time.monotonic()
run_plan(job, job_plan(job))
print(json.dumps({"seconds": time.monotonic() - t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_master(path: Path, minutes: float, sample_rate: int) -> None:
    """A music-like test signal (harmonic notes, hiss, clicks), written in one-minute pieces."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", sample_rate, 1, subtype="PCM_16") as out:
        for minute in range(int(np.ceil(minutes))):
            n = int(min(60.0, (minutes - minute) * 60.0) * sample_rate)
            t = np.arange(n) / sample_rate
            f0 = 110.0 * 2 ** (rng.integers(0, 24, size=1)[0] / 12)
            tone = sum(0.15 / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 10)) * ((t % 0.7) < 0.5)
            noise = 0.01 * rng.standard_normal(n)
            noise[rng.integers(0, n, size=30)] += 0.5
            out.write((tone + noise).astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--profile", default="piano-ltas", help="profile to run (default: model-free)")
    parser.add_argument("--model", help="bundle directory for profiles with generative_eq")
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--set", action="append", default=[], metavar="STAGE.PARAM=VALUE")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        reference = root / "reference"
        reference.mkdir()
        write_master(reference / "clean.wav", 0.5, args.sample_rate)
        for minutes in args.minutes:
            master = root / f"master-{minutes:g}min.wav"
            write_master(master, minutes, args.sample_rate)
            overrides: dict[str, dict[str, object]] = {}
            if args.profile.endswith("-ltas"):
                overrides["ltas_eq"] = {"reference": str(reference)}
            models_dir = None
            if args.model:
                bundle = Path(args.model).resolve()
                models_dir = str(bundle.parent)
                overrides.setdefault("generative_eq", {})["model"] = bundle.name
            for item in args.set:
                key, value = item.split("=", 1)
                stage, param = key.split(".", 1)
                overrides.setdefault(stage, {})[param] = json.loads(value)
            job = {
                "recording_id": f"m{minutes:g}",
                "master_path": str(master),
                "recording_dir": str(root / f"work-{minutes:g}"),
                "base_dir": str(root),
                "models_dir": models_dir,
                "profile": args.profile,
                "overrides": overrides,
            }
            job_file = root / f"job-{minutes:g}.json"
            job_file.write_text(json.dumps(job))
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, str(job_file)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if proc.returncode != 0:
                raise SystemExit(f"run of {minutes} min failed:\n{proc.stderr[-2000:]}")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append((minutes, time.monotonic() - started, result["seconds"], result["peak_rss_mb"]))
            print(f"  {minutes:g} min done", file=sys.stderr, flush=True)
    print(
        f"\nprofile {args.profile}, {args.sample_rate} Hz mono, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}"
    )
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    print("| recording | chain wall time (s) | real-time factor | peak RSS (MB) |")
    print("|---:|---:|---:|---:|")
    for minutes, _, seconds, rss in rows:
        print(f"| {minutes:g} min | {seconds:.1f} | {seconds / (minutes * 60):.3f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
