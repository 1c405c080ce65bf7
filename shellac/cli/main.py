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
from shellac.cli.bench import add_bench_command
from shellac.cli.calibrate import add_calibrate_command
from shellac.cli.common import collection_flow_args, device_choice, prefect_defaults
from shellac.cli.errors import report_error
from shellac.cli.heldout import add_heldout_commands
from shellac.cli.models import add_models_commands
from shellac.cli.ops import add_ops_commands
from shellac.cli.training import add_training_commands
from shellac.engine.errors import ShellacError
from shellac.stages.generative_eq import GenerativeEqParams
from shellac.stages.profiles import parse_sets


def cmd_run(args: argparse.Namespace) -> int:
    """Restore a collection through Prefect (embedded API unless PREFECT_API_URL is set)."""
    flow_args = collection_flow_args("run", args)
    if flow_args is None:
        return 2
    from shellac.flows import restore_collection, summary_of

    summary = summary_of(restore_collection(only=args.only, **flow_args))
    print(f"\n{summary['collection']}: {summary['done']} done, {summary['failed']} failed, "
          f"{len(summary['catalog_errors'])} catalog row(s) rejected")
    for line in summary["catalog_errors"]:
        print(f"  rejected: {line}")
    busy = summary.get("busy", [])
    if busy:
        print(f"  {len(busy)} busy (another run holds them; not processed by this run): {', '.join(busy)}")
    if summary.get("unfinished"):
        print(f"  still running when this run stopped waiting: {', '.join(summary['unfinished'])}")
    print(f"details: shellac status {args.catalog_dir}")
    # A run refused before it wrote any state (e.g. an unsafe work folder) counts as failed too.
    failed = summary["failed"] or "failed" in summary.get("outcomes", {}).values()
    return 1 if failed or summary["catalog_errors"] or busy else 0


def _status_rows(args: argparse.Namespace) -> tuple[Any, list[dict[str, Any]]]:
    from shellac.catalogs import load_catalog
    from shellac.jobs import collection_status

    catalog = load_catalog(Path(args.catalog_dir), output_root=args.output)
    rows = []
    for entry in collection_status(catalog):
        state = entry.state
        stages = {} if state is None else {
            name: {"status": state.stages[name].status, "duration_s": state.stages[name].duration_s,
                   "error": state.stages[name].error, "code_hash": state.stages[name].code_hash}
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
            "withdrawn": str(entry.directory / state.withdrawn) if state and state.withdrawn else None,
            "lock_holder": entry.holder,
            "quality_gate": _gate_outcome(state),
        })
    return catalog, rows


def _gate_outcome(state: Any) -> dict[str, Any] | None:
    """The quality gate's decision, fallback and reason, as the stage that ran it recorded them."""
    if state is None:
        return None
    for name in state.plan:
        record = state.stages.get(name)
        gate = record.metrics.get("quality_gate") if record is not None else None
        if isinstance(gate, dict):
            return {k: gate.get(k) for k in ("decision", "fallback", "reason")}
    return None


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
    mark = {"done": "✓", "failed": "✗", "running": "…", "pending": "·", "interrupted": "!"}
    print(f"collection {catalog.config.name}  (output {catalog.config.collection_dir})")
    for row in rows:
        stages = " ".join(f"{n}{mark.get(s['status'], '?')}" for n, s in row["stages"].items())
        dur = f"{row['duration_s']:.1f}s" if row["duration_s"] is not None else "-"
        print(f"  {row['id']:<20} {row['status']:<8} {row['profile']:<20} {dur:>8}  {stages}")
        if row["error"]:
            print(f"  {'':<20} error: {row['error']}")
        if row["withdrawn"]:
            print(f"  {'':<20} stale access copy withdrawn to {row['withdrawn']}")
        gate = row["quality_gate"]
        if gate and gate["fallback"]:
            print(f"  {'':<20} quality gate: access copy is the {gate['decision']} result ({gate['reason']})")
        if row["status"] == "interrupted":
            print(f"  {'':<20} its run died (no process holds it); the next run resumes it")
        elif row["lock_holder"]:
            print(f"  {'':<20} being processed: {row['lock_holder']}")
    for err in catalog.errors:
        print(f"  rejected: {err}")
    counts = {s: sum(r["status"] == s for r in rows)
              for s in ("done", "failed", "pending", "running", "interrupted")}
    print("  " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore one file through a profile's chain, without a catalog."""
    prefect_defaults()
    from shellac.engine.atomic import atomic_path
    from shellac.engine.paths import check_master, refuse_write_inside
    from shellac.flows import restore_recording
    from shellac.stages.chain import RecordingJob

    master = Path(args.input).absolute()
    out = Path(args.output).absolute()
    if out.suffix.lower() != ".flac":
        raise ShellacError(f"output {out} must end in .flac")
    overrides = parse_sets(args.set or [])
    # The master's real folder (or --source-root) is the source root: nothing is written inside it.
    if args.source_root:
        source_root = Path(args.source_root).absolute()
        check_master(master, source_root, allow_outside=False)
    else:
        source_root = check_master(master, None, allow_outside=True).parent
    work = Path(args.work).absolute() if args.work else out.with_name(f"{out.stem}.shellac-work")
    refuse_write_inside(out, source_root, "output")
    refuse_write_inside(work, source_root, "work folder")
    for target in (out, out.with_suffix(".premis.json")):
        if (target.exists() or target.is_symlink()) and not args.overwrite:
            raise ShellacError(f"{target} already exists: pass --overwrite to replace it, "
                               "or choose another output")
    if args.preset == "reference":
        # The BABE-2 reference's LTAS-EQ and generative EQ (docs/babe2-parity.md), without this
        # engine's consistency step: every consistency option at its default (none); --set still wins.
        fields = GenerativeEqParams.model_fields.items()
        consistency = [("generative_eq", name, f.default) for name, f in fields
                       if name.startswith("consistency")]
        reference = [("ltas_eq", "method", "reference"), ("generative_eq", "preset", "reference"),
                     *consistency]
        for stage, key, value in reference:
            overrides.setdefault(stage, {}).setdefault(key, value)
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
        device=device_choice(args.device),
        metadata={"title": args.title} if args.title else {},
        source_root=str(source_root),
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
    """Check models, references, Prefect (pools, limit, deployments), GPU, disk and access; exit 1
    if anything would stop a run."""
    from shellac.cli.doctor import run_checks
    from shellac.flows.readiness import PREFECT_YAML, check_server, check_stage_data

    checks: list[Any] = run_checks(
        Path(args.catalog_dir) if args.catalog_dir else None,
        Path(args.models_dir) if args.models_dir else None,
        Path(args.output), args.min_free_gb,
    )
    if args.catalog_dir:
        checks += check_stage_data(Path(args.catalog_dir), Path(args.models_dir) if args.models_dir else None)
    # Pools, workers, the gpu limit and deployments, when PREFECT_API_URL names a server that answers.
    if not any(c.name == "prefect API" and c.level == "fail" for c in checks):
        checks += check_server(PREFECT_YAML, os.environ.get("PREFECT_API_URL"))
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
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error (and of failed runs in the logs)")
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
    p.add_argument("--preset", choices=("shellac", "reference"), default="shellac",
                   help="'reference': LTAS-EQ and generative EQ as the BABE-2 reference code does them")
    p.add_argument("--title", help="title tag for the access copy")
    p.add_argument("--work", help="work directory (default: <output stem>.shellac-work beside it)")
    p.add_argument("--source-root", help="folder of the masters the input belongs to (default: the input's "
                   "folder); the output and work folder must lie outside it")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output (never one inside the source root)")
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
    add_calibrate_command(sub)
    add_ops_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``shellac`` console script."""
    raw = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted anywhere on the line, before or after the subcommand.
    args = build_parser().parse_args([a for a in raw if a != "--debug"])
    args.debug = "--debug" in raw
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("shellac: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every error ends as one line; --debug shows the rest
        return report_error(exc, debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
