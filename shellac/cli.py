"""The ``shellac`` command line: run and inspect collection restorations, restore single files."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shellac import __version__
from shellac.bench_cli import add_bench_command
from shellac.engine.errors import ShellacError
from shellac.heldout_cli import add_heldout_commands
from shellac.models_cli import add_models_commands
from shellac.ops_cli import add_ops_commands, fan_out_refusal
from shellac.training_cli import add_training_commands


def _prefect_defaults() -> None:
    # Offline machines: no analytics calls; keep the embedded server's logs quiet.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


def _device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cmd_run(args: argparse.Namespace) -> int:
    """Restore a collection through Prefect (embedded API unless PREFECT_API_URL is set)."""
    refusal = fan_out_refusal(args.fan_out)
    if refusal:
        print(f"shellac run: {refusal}", file=sys.stderr)
        return 2
    _prefect_defaults()
    from shellac.flows import restore_collection

    summary = restore_collection(
        catalog_dir=str(Path(args.catalog_dir).resolve()),
        output=str(Path(args.output).resolve()) if args.output else None,
        only=args.only,
        models_dir=str(Path(args.models_dir).resolve()) if args.models_dir else None,
        device=_device(args.device),
        fan_out=args.fan_out,
    )
    print(f"\n{summary['collection']}: {summary['done']} done, {summary['failed']} failed, "
          f"{len(summary['catalog_errors'])} catalog row(s) rejected")
    for line in summary["catalog_errors"]:
        print(f"  rejected: {line}")
    print(f"details: shellac status {args.catalog_dir}")
    return 1 if summary["failed"] or summary["catalog_errors"] else 0


def _status_rows(args: argparse.Namespace) -> tuple[Any, list[dict[str, Any]]]:
    from shellac.catalogs import load_catalog
    from shellac.jobs import collection_status

    catalog = load_catalog(Path(args.catalog_dir), output_root=args.output)
    rows = []
    for entry in collection_status(catalog):
        state = entry.state
        stages = {} if state is None else {
            name: {"status": state.stages[name].status, "duration_s": state.stages[name].duration_s,
                   "error": state.stages[name].error}
            for name in state.plan if name in state.stages
        }
        rows.append({
            "id": entry.recording.id,
            "status": entry.status,
            "profile": state.profile if state else "",
            "duration_s": round(state.total_duration_s(), 3) if state else None,
            "error": state.error if state else None,
            "stages": stages,
            "access_copy": str(entry.directory / f"{entry.recording.id}.flac")
            if entry.status == "done" else None,
        })
    return catalog, rows


def cmd_status(args: argparse.Namespace) -> int:
    """Print each recording's stage states, error and duration."""
    catalog, rows = _status_rows(args)
    if args.json:
        print(json.dumps({
            "collection": catalog.config.name,
            "output": str(catalog.config.collection_dir),
            "recordings": rows,
            "catalog_errors": [{"line": e.line, "id": e.id, "reason": e.reason}
                               for e in catalog.errors],
        }, indent=2))
        return 0
    mark = {"done": "✓", "failed": "✗", "running": "…", "pending": "·"}
    print(f"collection {catalog.config.name}  (output {catalog.config.collection_dir})")
    for row in rows:
        stages = " ".join(f"{n}{mark.get(s['status'], '?')}" for n, s in row["stages"].items())
        dur = f"{row['duration_s']:.1f}s" if row["duration_s"] is not None else "-"
        print(f"  {row['id']:<20} {row['status']:<8} {row['profile']:<20} {dur:>8}  {stages}")
        if row["error"]:
            print(f"  {'':<20} error: {row['error']}")
    for err in catalog.errors:
        print(f"  rejected: {err}")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("done", "failed", "pending", "running")}
    print("  " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def _parse_sets(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        stage, dot, param = key.partition(".")
        if not sep or not dot or not stage or not param:
            raise ShellacError(f"--set {item!r}: expected STAGE.PARAM=VALUE, e.g. denoise.prop_decrease=0.6")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        overrides.setdefault(stage, {})[param] = value
    return overrides


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore one file through a profile's chain, without a catalog."""
    _prefect_defaults()
    from shellac.engine.atomic import atomic_path
    from shellac.flows import restore_recording
    from shellac.stages.chain import RecordingJob

    master = Path(args.input).resolve()
    out = Path(args.output).resolve()
    if out.suffix.lower() != ".flac":
        raise ShellacError(f"output {out} must end in .flac")
    if out == master:
        raise ShellacError("the output must not be the input: masters are never overwritten")
    work = Path(args.work).resolve() if args.work else out.with_name(f"{out.stem}.shellac-work")
    overrides = _parse_sets(args.set or [])
    models_dir = Path(args.models_dir).resolve() if args.models_dir else None
    if args.model:
        # A bundle directory: its parent is the models directory, its name the key.
        bundle = Path(args.model).resolve()
        if not bundle.is_dir():
            raise ShellacError(f"--model {args.model}: no bundle directory there")
        models_dir = bundle.parent
        overrides.setdefault("generative_eq", {})["model"] = bundle.name
    rec_id = "".join(c if c.isalnum() or c in "._-" else "_" for c in master.stem)[:120] or "recording"
    job = RecordingJob(
        recording_id=rec_id,
        collection="",
        master_path=str(master),
        recording_dir=str(work),
        base_dir=str(Path.cwd()),
        models_dir=str(models_dir) if models_dir else None,
        profile=args.profile,
        overrides=overrides,
        device=_device(args.device),
        metadata={"title": args.title} if args.title else {},
    )
    final = restore_recording(job, return_state=True)
    if not final.is_completed():
        from shellac.stages.state import load_state

        state = load_state(work)
        print(f"failed: {state.error if state else final.message}", file=sys.stderr)
        return 1
    with atomic_path(out) as tmp:
        shutil.copyfile(work / f"{rec_id}.flac", tmp)
    with atomic_path(out.with_suffix(".premis.json")) as tmp:
        shutil.copyfile(work / f"{rec_id}.premis.json", tmp)
    print(f"wrote {out} (work files in {work})")
    return 0


def cmd_profiles(args: argparse.Namespace) -> int:
    """List the built-in profiles and their stages."""
    from shellac.stages.profiles import builtin_profile_names, load_plan

    for name in builtin_profile_names():
        try:
            plan = load_plan(name)
            chain = " > ".join(s.stage for s in plan.steps)
            print(f"{name:<22} {chain}\n{'':<22} {plan.description}")
        except ShellacError as exc:
            print(f"{name:<22} unavailable: {exc}")
    return 0


def cmd_ltas(args: argparse.Namespace) -> int:
    """Compute a reference LTAS JSON from a folder of clean recordings."""
    from shellac.engine.atomic import atomic_write_json
    from shellac.engine.dsp.ltas import ltas_from_files
    from shellac.stages.reference import AUDIO_SUFFIXES

    folder = Path(args.folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    ltas = ltas_from_files(files, args.sample_rate, args.n_fft)
    atomic_write_json(Path(args.output), ltas.to_json_dict())
    print(f"wrote {args.output}: LTAS of {len(files)} file(s) at {args.sample_rate} Hz, n_fft {args.n_fft}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check models, Prefect, GPU, disk and access; exit 1 if anything would stop a run."""
    from shellac.doctor import run_checks

    checks = run_checks(
        Path(args.catalog_dir) if args.catalog_dir else None,
        Path(args.models_dir) if args.models_dir else None,
        Path(args.output), args.min_free_gb,
    )
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    for check in checks:
        print(f"[{marks[check.level]}] {check.name}: {check.detail}")
    failed = [c for c in checks if c.level == "fail"]
    print(f"{len(failed)} problem(s) found" if failed else "ready")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests and docs can inspect it)."""
    parser = argparse.ArgumentParser(
        prog="shellac",
        description="Restore historical music collections (78 rpm transfers) in batch. "
        "Masters are read-only; outputs go to the output tree.",
    )
    parser.add_argument("--version", action="version", version=f"shellac {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="restore a collection (catalog directory) through Prefect")
    p.add_argument("catalog_dir", help="folder with catalog.csv and collection.toml")
    p.add_argument("--output", help="output root (default: collection.toml's output_root)")
    p.add_argument("--only", choices=("all", "pending", "failed"), default="all",
                   help="all: every recording, finished stages skipped by content key (default); "
                   "pending: recordings not yet done; failed: recordings whose last run failed")
    p.add_argument("--models-dir", help="models directory (default: collection.toml, "
                   "$SHELLAC_MODELS_DIR, or ./models)")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu")
    p.add_argument("--fan-out", action="store_true",
                   help="run each recording as a run of the restore-recording deployment, so any worker "
                   "of the server's pools can take it (needs a Prefect server with workers; "
                   "see docs/operations.md)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="show each recording's stage states, errors and durations")
    p.add_argument("catalog_dir")
    p.add_argument("--output", type=Path, help="output root, if the run used --output")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("restore", help="restore one file through a profile, no catalog needed")
    p.add_argument("input", help="master file (read only)")
    p.add_argument("output", help="access copy to write (.flac); a .premis.json goes beside it")
    p.add_argument("--profile", required=True, help="profile name (see 'shellac profiles')")
    p.add_argument("--set", action="append", metavar="STAGE.PARAM=VALUE",
                   help="override a profile parameter, e.g. ltas_eq.reference=refs/piano (repeatable)")
    p.add_argument("--model", help="model bundle directory for generative_eq (sets --models-dir to its "
                   "parent and generative_eq.model to its name)")
    p.add_argument("--title", help="title tag for the access copy")
    p.add_argument("--work", help="work directory (default: <output stem>.shellac-work beside it)")
    p.add_argument("--models-dir", help="models directory")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("doctor", help="check models, Prefect API, GPU, free disk and write access")
    p.add_argument("catalog_dir", nargs="?", help="also check this catalog, its masters and output root")
    p.add_argument("--models-dir", help="models directory (default: $SHELLAC_MODELS_DIR or ./models)")
    p.add_argument("--output", default="output", help="output root to check without a catalog")
    p.add_argument("--min-free-gb", type=float, default=1.0, help="free disk needed, GB")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("profiles", help="list the built-in profiles")
    p.set_defaults(func=cmd_profiles)

    p = sub.add_parser("ltas", help="compute a reference LTAS JSON from a folder of clean audio")
    p.add_argument("folder")
    p.add_argument("output", help="JSON file to write")
    p.add_argument("--sample-rate", type=int, default=22050, help="analysis rate in Hz")
    p.add_argument("--n-fft", type=int, default=2048, help="FFT size in samples")
    p.set_defaults(func=cmd_ltas)

    add_training_commands(sub)
    add_models_commands(sub)
    add_bench_command(sub)
    add_heldout_commands(sub)
    add_ops_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``shellac`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ShellacError as exc:
        print(f"shellac: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
