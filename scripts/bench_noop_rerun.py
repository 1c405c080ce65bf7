"""Time a no-op rerun: `shellac run` over N recordings that are all finished (model-free profile, tiny files).

Usage:  .venv/bin/python scripts/bench_noop_rerun.py --sizes 1000 10000 [--workdir DIR] [--keep]

For each size it builds a catalog of N tiny masters (1 s, 8 kHz mono, 16 kB) restored through
the model-free ``ltas-only`` profile (ingest, LTAS-EQ against a folder of noise, tag). One
recording is restored for real (``run_plan``, no Prefect); the others are copies of its
work folder with the id changed, so their state.json, cache keys and outputs are exactly
what a real run writes (the masters are identical, and keys hash content, never paths).
Every copy is checked with ``is_current`` before timing. Then ``shellac run CATALOG``
runs as a fresh process (embedded Prefect API, its own PREFECT_HOME), and the script
prints its total wall time (Prefect's start-up included) and the collection flow's own
figures from summary.json: the whole flow body and the current-recording check.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.catalogs import load_catalog
from shellac.jobs import build_job
from shellac.stages.chain import is_current, job_plan, run_plan

SR = 8000
TEMPLATE = "rec0000000"


def _catalog(root: Path, n: int) -> Path:
    masters, ref = root / "masters", root / "reference"
    masters.mkdir(parents=True)
    ref.mkdir()
    t = np.arange(SR) / SR  # 1 s: the shortest master ingest accepts
    tone = (0.2 * np.sin(2 * np.pi * 330 * t) + 0.01 * np.random.default_rng(0).standard_normal(t.size))
    sf.write(masters / f"{TEMPLATE}.wav", tone.astype(np.float32), SR, subtype="PCM_16")
    for i in range(1, n):
        os.link(masters / f"{TEMPLATE}.wav", masters / f"rec{i:07d}.wav")
    sf.write(ref / "noise.wav", (0.1 * np.random.default_rng(1).standard_normal(SR)).astype(np.float32), SR)
    rows = "".join(f"rec{i:07d},rec{i:07d}.wav,Tone,piano\n" for i in range(n))
    (root / "catalog.csv").write_text("id,file,title,content\n" + rows, encoding="utf-8")
    (root / "collection.toml").write_text(
        f'name = "noop{n}"\nsource_root = "masters"\noutput_root = "out"\n[profiles]\npiano = "ltas-only"\n'
        '[profile_overrides.ltas-only.ltas_eq]\nreference = "reference"\n', encoding="utf-8")
    return root


def _finish_all(root: Path, n: int) -> None:
    """Restore the template for real, then copy its work folder to every other id."""
    catalog = load_catalog(root)
    job = build_job(catalog, catalog.get(TEMPLATE))
    run_plan(job, job_plan(job))
    template = Path(job.recording_dir)
    state_text = (template / "state.json").read_text(encoding="utf-8")
    files = [p for p in template.rglob("*") if p.is_file() and p.name not in ("state.json", ".lock")]
    for i in range(1, n):
        rid = f"rec{i:07d}"
        target = template.with_name(rid)
        for src in files:
            dst = target / str(src.relative_to(template)).replace(TEMPLATE, rid)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, dst)
        (target / "state.json").write_text(state_text.replace(TEMPLATE, rid), encoding="utf-8")
    catalog = load_catalog(root)
    sample = catalog.recordings[:: max(1, n // 20)]
    stale = [r.id for r in sample if not is_current(build_job(catalog, r))]
    if stale:
        raise SystemExit(f"copies are not current: {stale[:5]}")


def bench(n: int, workdir: Path) -> dict[str, float]:
    """Build and finish N recordings, then time `shellac run` over them (seconds)."""
    root = _catalog(workdir / f"noop{n}", n)
    built = time.monotonic()
    _finish_all(root, n)
    print(f"[{n}] catalog and {n} finished recordings ready in {time.monotonic() - built:.1f} s", flush=True)
    env = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", **os.environ,
           "PREFECT_HOME": str(workdir / f"prefect-{n}")}
    env.pop("PREFECT_API_URL", None)
    started = time.monotonic()
    done = subprocess.run([str(Path(sys.executable).with_name("shellac")), "run", str(root)], env=env,
                          capture_output=True, text=True)
    total = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"shellac run failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    orch = json.loads((root / "out" / f"noop{n}" / "summary.json").read_text())["orchestration"]
    if orch["current"] != n or orch["recordings"] != 0:
        raise SystemExit(f"expected {n} current recordings and no runs, got {orch}")
    return {"total_s": total, "flow_s": orch["run_wall_s"], "check_s": orch["current_check_s"]}


def main() -> None:
    """Print the no-op rerun time per size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="shellac-noop-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = {n: bench(n, workdir) for n in args.sizes}
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\nno-op rerun of N finished recordings (`shellac run`, embedded Prefect API):")
    print(f"{'N':>7}  {'total s':>8}  {'flow body s':>11}  {'state check s':>13}  {'start-up etc. s':>15}")
    for n, r in results.items():
        print(f"{n:>7}  {r['total_s']:>8.1f}  {r['flow_s']:>11.1f}  {r['check_s']:>13.1f}  "
              f"{r['total_s'] - r['flow_s']:>15.1f}")


if __name__ == "__main__":
    main()
