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
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.fixtures.memory when run as a script

from tests.fixtures.memory import ChildRunError, run_in_child, write_master  # noqa: E402


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
            started = time.monotonic()
            try:
                result = run_in_child(job, root / f"job-{minutes:g}.json")
            except ChildRunError as exc:
                raise SystemExit(str(exc)) from exc
            rows.append((minutes, time.monotonic() - started, result.seconds, result.peak_rss_mb))
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
