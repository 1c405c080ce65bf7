"""`shellac models`: list bundles (and rows using them), import BABE-2 checkpoints, build register tables."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path


def cmd_models_list(args: argparse.Namespace) -> int:
    """Print each bundle in the models directory with its checksum, and the rows that would use it."""
    from shellac.catalogs import load_catalog
    from shellac.engine.errors import ShellacError
    from shellac.engine.models.bundle import bundle_checksum, read_card, read_config
    from shellac.stages.models import ModelStore

    store = ModelStore(Path(args.models_dir) if args.models_dir else None)
    users: dict[str, list[str]] = {}
    if args.catalog:
        catalog = load_catalog(Path(args.catalog))
        for rec in catalog.recordings:
            choice = catalog.registry.choose(rec)
            if choice is not None:
                users.setdefault(choice.model, []).append(f"{rec.id} ({choice.reason})")
    rows = []
    bundles = sorted(p for p in store.root.iterdir() if p.is_dir()) if store.root.is_dir() else []
    for path in bundles:
        try:
            card, config = read_card(path), read_config(path)
            rows.append(
                {
                    "key": path.name,
                    "name": card.name,
                    "family": config.family,
                    "sample_rate": config.sample_rate,
                    "segment_length": config.segment_length,
                    "sigma_data": config.sigma_data,
                    "steps": card.training_steps,
                    "base_model": card.base_model,
                    "checksum": bundle_checksum(path),
                    "used_by": users.pop(path.name, []),
                }
            )
        except ShellacError as exc:
            rows.append({"key": path.name, "error": str(exc), "used_by": users.pop(path.name, [])})
    missing = {key: rows_ for key, rows_ in users.items()}
    if args.json:
        print(json.dumps({"models_dir": str(store.root), "bundles": rows, "missing": missing}, indent=2))
        return 1 if missing else 0
    print(f"models directory {store.root}")
    for row in rows:
        if "error" in row:
            print(f"  {row['key']:<12} UNUSABLE: {row['error']}")
        else:
            print(
                f"  {row['key']:<12} {row['family']:<9} {row['sample_rate']:>6} Hz  {row['steps']:>7} steps  "
                f"σ_data {row['sigma_data']:<6g} sha256 {row['checksum'][:16]}…"
                + (f"  (fine-tune of {row['base_model']})" if row["base_model"] else "")
            )
        for user in row["used_by"]:
            print(f"  {'':<12} used by {user}")
    for key, rows_ in missing.items():
        print(f"  {key:<12} MISSING, needed by: {', '.join(rows_)}")
    return 1 if missing else 0


def cmd_models_import(args: argparse.Namespace) -> int:
    """Convert a published BABE-2 checkpoint into a bundle."""
    from shellac.engine.dsp.ltas import Ltas
    from shellac.engine.models.import_babe2 import import_babe2

    ltas = Ltas.from_json_dict(json.loads(Path(args.ltas).read_text())) if args.ltas else None
    out = import_babe2(
        Path(args.checkpoint),
        Path(args.bundle),
        name=args.name or Path(args.bundle).name,
        reference_ltas=ltas,
        command=shlex.join(["shellac", *sys.argv[1:]]),
        overwrite=args.overwrite,
    )
    print(f"wrote bundle {out}")
    return 0


def cmd_models_register_table(args: argparse.Namespace) -> int:
    """Build a bundle's register table from a folder of clean recordings."""
    import numpy as np

    from shellac.engine.atomic import atomic_write_json
    from shellac.engine.audio_io import read_audio
    from shellac.engine.dsp.register import build_register_table
    from shellac.engine.dsp.resample import resample
    from shellac.engine.errors import ModelLoadingError
    from shellac.stages.models import REGISTER_FILE, ModelStore
    from shellac.stages.reference import audio_files

    store = ModelStore(Path(args.models_dir) if args.models_dir else None)
    ltas = store.reference_ltas(args.key)
    target = store.bundle_dir(args.key) / REGISTER_FILE
    if target.exists() and not args.overwrite:
        raise ModelLoadingError(f"{target} exists; pass --overwrite to replace it")
    files = audio_files(Path(args.audio))

    def clips():  # type: ignore[no-untyped-def]
        for path in files:
            audio, sr = read_audio(path)
            mono = resample(audio, sr, ltas.sample_rate).mean(axis=0)
            if not float(np.std(mono)) > 0:
                raise ModelLoadingError(f"{path} is silent: a register table needs clean recordings")
            yield mono

    table = build_register_table(clips(), ltas.sample_rate, ltas.n_fft)
    atomic_write_json(target, {**table.to_json_dict(), "command": shlex.join(["shellac", *sys.argv[1:]]),
                               "clips": len(files)})
    print(f"wrote {target}: {table.midi.size} semitones (MIDI {table.midi[0]}-{table.midi[-1]}), "
          f"{int(table.frames.sum())} sung and {table.unvoiced_frames} unvoiced frames, {len(files)} clips")
    return 0


def add_models_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `shellac models list`, `shellac models import` and `shellac models register-table`."""
    models = subparsers.add_parser("models", help="list installed model bundles; import BABE-2 checkpoints; "
                                             "build register tables")
    sub = models.add_subparsers(dest="models_command", required=True)
    p = sub.add_parser("list", help="bundles in the models directory (σ_data: the unit of the sampler's σ "
                                    "settings), checksums, and catalog rows using them")
    p.add_argument("--models-dir", help="models directory (default: $SHELLAC_MODELS_DIR or ./models)")
    p.add_argument("--catalog", help="catalog directory whose rows are matched to models (models.toml)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_models_list)
    p = sub.add_parser("import", help="convert a published BABE-2 .pt checkpoint into a bundle")
    p.add_argument("checkpoint", help="e.g. MAESTRO_22kHz_8s-850kits.pt")
    p.add_argument("bundle", help="bundle directory to write, e.g. models/piano-babe2")
    p.add_argument("--name", help="model name for the card (default: the bundle folder's name)")
    p.add_argument("--ltas", help="reference LTAS JSON, for checkpoints that carry none")
    p.add_argument("--overwrite", action="store_true", help="replace an existing bundle")
    p.set_defaults(func=cmd_models_import)
    p = sub.add_parser("register-table", help="build a bundle's register table (register.json: the clean "
                       "material's spectrum per sung semitone, for ltas_eq's match_register) from a folder "
                       "of clean recordings like its training material")
    p.add_argument("key", help="bundle key, e.g. soprano")
    p.add_argument("audio", help="folder of clean recordings (searched recursively)")
    p.add_argument("--models-dir", help="models directory (default: $SHELLAC_MODELS_DIR or ./models)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing register.json")
    p.set_defaults(func=cmd_models_register_table)
