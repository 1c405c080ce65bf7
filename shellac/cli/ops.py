"""``shellac rerun-failed``, ``report`` and ``accept-master``: operate a collection after its runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shellac.cli.common import api_description, collection_flow_args


def cmd_rerun_failed(args: argparse.Namespace) -> int:
    """Rerun only the failed recordings, each from its last good stage; exit 1 if any still fails."""
    flow_args = collection_flow_args("rerun-failed", args)
    if flow_args is None:
        return 2
    from shellac.flows import rerun_failed, summary_of

    print(f"shellac rerun-failed: reporting to {api_description()}", file=sys.stderr)
    summary = summary_of(rerun_failed(**flow_args))
    reran = sorted(summary["outcomes"])
    print(f"\n{summary['collection']}: reran {len(reran)} failed recording(s)"
          + (f" ({', '.join(reran)})" if reran else ""))
    for rid in reran:
        print(f"  {rid}: {summary['outcomes'][rid]}")
    print(f"now {summary['done']} done, {summary['failed']} failed; "
          f"details: shellac status {args.catalog_dir}")
    return 1 if summary["failed"] else 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the collection's static HTML report."""
    from shellac.catalogs import load_catalog
    from shellac.report import write_report

    catalog = load_catalog(Path(args.catalog_dir), output_root=Path(args.output) if args.output else None)
    path = write_report(catalog, Path(args.output_html) if args.output_html else None)
    print(f"wrote {path}")
    return 0


def cmd_accept_master(args: argparse.Namespace) -> int:
    """Accept a changed master as the recording's master; the next run re-ingests it."""
    from shellac.catalogs import load_catalog
    from shellac.engine.paths import check_master
    from shellac.jobs import recording_dir
    from shellac.stages.fixity import accept_master

    catalog = load_catalog(Path(args.catalog_dir), output_root=Path(args.output) if args.output else None)
    recording = catalog.get(args.id)
    master = check_master(catalog.master_path(recording), catalog.config.source_root,
                          allow_outside=catalog.config.allow_masters_outside_source_root)
    old, new = accept_master(recording_dir(catalog, recording), master)
    if old == new:
        print(f"{args.id}: master unchanged (sha256 {new}); nothing to accept")
    else:
        print(f"{args.id}: accepted the new master (sha256 {old} → {new}); the change is recorded as a "
              f"PREMIS event and the old access copy withdrawn. Run `shellac rerun-failed "
              f"{args.catalog_dir}` (or `shellac run`) to restore the new master.")
    return 0


def _catalog_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("catalog_dir", help="folder with catalog.csv and collection.toml")
    p.add_argument("--output", help="output root, if the runs used --output")


def add_ops_commands(subparsers: Any) -> None:
    """Add the ``rerun-failed``, ``report`` and ``accept-master`` subcommands to ``shellac``'s subparsers."""
    p = subparsers.add_parser("rerun-failed", help="rerun only the failed recordings of a collection, "
                              "each from its last good stage")
    _catalog_arguments(p)
    p.add_argument("--models-dir", help="models directory")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu")
    p.add_argument("--fan-out", action="store_true",
                   help="run each recording as a run of the restore-recording deployment "
                   "(needs a Prefect server with workers; see docs/operations.md)")
    p.set_defaults(func=cmd_rerun_failed)

    p = subparsers.add_parser("report", help="write a static HTML report of a collection "
                              "(spectrograms, LTAS, filters, failures)")
    _catalog_arguments(p)
    p.add_argument("--output-html", help="HTML file to write (default: <collection output>/report.html)")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser("accept-master", help="accept a changed master (after a fixity failure) as "
                              "the recording's master; the change is recorded in its provenance")
    _catalog_arguments(p)
    p.add_argument("id", help="recording id")
    p.set_defaults(func=cmd_accept_master)
