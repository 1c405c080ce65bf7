"""``shellac bench-heldout``, ``bench-guidance``, ``record-standing``: the production chain, held out."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shellac.stages.profiles import parse_sets

if TYPE_CHECKING:
    from shellac.lab.evaluation.visqol import Visqol
    from shellac.lab.heldout.material import HeldoutPart
    from shellac.lab.heldout.runner import HeldoutExcerpt

DEFAULT_CACHE = Path("output/bench-heldout")
DEFAULT_OUT = Path("docs/benchmarks")
ROWS_HELP = (
    "comma-separated rows (default input,ltas_eq,chain_eq,eq_step,babe2,babe2_gated,babe2_sy0,"
    "babe2_sy0_gated; eq_step is the generative profile's EQ step alone; also babe2_bundle)"
)


def _workers(text: str) -> int:
    """``--workers``: a whole number of processes, at least 1 (refused before any excerpt is rendered)."""
    try:
        workers = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, got {text!r}") from None
    if workers < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 process, got {text!r}")
    return workers


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _common(p: argparse.ArgumentParser, part: str, excerpts: int) -> None:
    p.add_argument(
        "--kind",
        choices=("piano", "voice"),
        default="piano",
        help="held-out material and profiles: piano (piano-ltas, piano) or voice (voice-ltas, voice); "
        "default piano",
    )
    p.add_argument(
        "--part",
        choices=("validation", "benchmark"),
        default=part,
        help=f"held-out part of catalogs/heldout.toml (default {part})",
    )
    p.add_argument("--excerpts", type=int, default=excerpts, help=f"number of excerpts (default {excerpts})")
    p.add_argument("--first", type=int, default=0,
                   help="restore and score excerpts FIRST..EXCERPTS-1 only; each excerpt is the same as in a "
                   "run from 0 (default 0)")
    p.add_argument("--seconds", type=float, default=5.5, help="excerpt length, s (default 5.5)")
    p.add_argument("--sample-rate", type=int, default=22050, help="rate of the masters, Hz (default 22050)")
    p.add_argument("--seed", type=int, default=0, help="seed of excerpts and chains (default 0)")
    p.add_argument("--steps", type=int, help="generative_eq.n_steps on every generative run")
    p.add_argument("--filter-iters", type=int, help="generative_eq.filter_iters on every generative run")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="STAGE.PARAM=VALUE",
        help="parameter override on every run whose profile has STAGE (repeatable)",
    )
    p.add_argument(
        "--models-dir", type=Path, default=Path("models"), help="models directory (default models)"
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"renders and chain work folders, reused across runs (default {DEFAULT_CACHE})",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report folder (default {DEFAULT_OUT})")
    p.add_argument("--device", default="cpu", help="device of the generative stage (default cpu)")
    p.add_argument("--workers", type=_workers, default=1,
                   help="processes restoring, then scoring, excerpts side by side (default 1); each "
                   "takes an equal share of this process's torch threads; the figures do not depend on it")
    p.add_argument("--visqol", choices=("auto", "on", "off"), default="auto",
                   help="ViSQOL MOS-LQO of every row (visqol-python, in the lock); auto: on if installed, "
                   "about 7 s per excerpt and row on one core")


def _visqol(args: argparse.Namespace) -> tuple[Visqol | None, str | None]:
    """The ViSQOL scorer --visqol asks for and its name; "on" without the package fails before any work."""
    from importlib import metadata

    from shellac.lab.evaluation.visqol import Visqol, visqol_available

    if args.visqol == "on" or (args.visqol == "auto" and visqol_available()):
        return Visqol(), f"visqol-python {metadata.version('visqol-python')}"
    return None, None


def add_heldout_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``bench-heldout``, ``bench-guidance`` and ``record-standing`` to the ``shellac`` sub-commands."""
    p = subparsers.add_parser(
        "bench-heldout",
        help="held-out benchmark of the production profiles (none / LTAS-EQ / BABE-2)",
        description="Render held-out piano (catalogs/heldout.toml, held-out soundfont) or sing held-out "
        "voice lines (--kind voice, tenor and soprano alternating), degrade each excerpt "
        "with a seeded 78 rpm-like chain, restore it through the production profiles with the chain "
        "executor, and score LSD, third-octave LTAS error (over the pass band, and beside it over the "
        "bands within 30 dB of the clean maximum), energy beyond the cut-offs and SI-SDR against the clean "
        "render; JSON, markdown and plots.",
    )
    _common(p, "benchmark", 8)
    p.add_argument(
        "--rows",
        help=ROWS_HELP,
    )
    p.add_argument("--plots", type=int, default=2, help="excerpts to plot (default 2)")
    p.add_argument("--name", help="report name (default heldout-<kind>)")
    p.add_argument("--soundfont", type=Path, metavar="SF",
                   help="piano: render the part's works with this soundfont instead of the held-out one "
                   "(a file name in /usr/share/sounds/sf2|sf3, or a path): a cross-soundfont check; a "
                   "soundfont used for training is not held out")
    p.set_defaults(func=cmd_bench_heldout)

    g = subparsers.add_parser(
        "bench-guidance",
        help="sweep σ_y, ξ and steps on held-out VALIDATION material; record the choice",
        description="Run the piano profile over a grid of sampler settings on the validation part of "
        "catalogs/heldout.toml (never the benchmark part), score the generative output against the clean "
        "renders, and with --write store the best point in the bundle's card (save_bundle, checksums "
        "re-sealed); generative_eq uses it when guidance = 'bundle'.",
    )
    _common(g, "validation", 4)
    g.add_argument("--model", default="piano", help="bundle key in --models-dir (default piano)")
    g.add_argument("--grid-steps", default="8", help="comma-separated N values (default 8)")
    g.add_argument("--grid-sigma-y", default="0,0.05,0.25", help="comma-separated σ_y (default 0,0.05,0.25)")
    g.add_argument("--grid-xi", default="0.5,1,2", help="comma-separated ξ (default 0.5,1,2)")
    g.add_argument("--write", action="store_true", help="store the chosen point in the bundle's card")
    g.add_argument("--name", default="guidance-piano", help="report name (default guidance-piano)")
    g.set_defaults(func=cmd_bench_guidance)

    r = subparsers.add_parser(
        "record-standing",
        help="store a model's held-out standing (from a benchmark report) in its bundle card",
        description="Read a `shellac bench-heldout` report of the benchmark part run with the shipped "
        "profiles (no overrides), take the win rates of the access copies restored with MODEL against "
        "LTAS-EQ and the untouched input (LSD, LTAS error: the 80 % bar's measures; also the LTAS error "
        "within 30 dB of the clean maximum, beside the bar, where the report scored it) and their means, "
        "and store them in the bundle's card (weights and checksum unchanged). generative_eq then records "
        "that standing with "
        "every restoration: state.json, the access copy's SHELLAC_MODEL_STANDING tag, report and dashboard.",
    )
    r.add_argument("report", type=Path, help="the report's JSON (docs/benchmarks/<name>.json)")
    r.add_argument("--model", required=True,
                   help="bundle key in --models-dir (a voice report: the singer's model)")
    r.add_argument("--models-dir", type=Path, default=Path("models"), help="model bundles (default models)")
    r.set_defaults(func=cmd_record_standing)


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    overrides = parse_sets(args.set or [])
    gen = overrides.setdefault("generative_eq", {})
    if args.steps:
        gen["n_steps"] = args.steps
    if args.filter_iters:
        gen["filter_iters"] = args.filter_iters
    return {k: v for k, v in overrides.items() if v}


def heldout_part(args: argparse.Namespace) -> HeldoutPart:
    """The held-out part the arguments name, with ``--soundfont`` in place of the held-out font if given."""
    from shellac.engine.errors import ParameterError
    from shellac.lab.heldout.material import find_soundfont, load_heldout

    part = load_heldout(args.part, kind=args.kind)
    if args.soundfont is None:
        return part
    if part.soundfont is None:
        raise ParameterError(f"--soundfont is for piano material; {args.kind} material is sung")
    return replace(part, soundfont=find_soundfont(args.soundfont))


def _excerpts(args: argparse.Namespace, part: HeldoutPart) -> list[HeldoutExcerpt]:
    """Excerpts ``--first``..``--excerpts``-1 of ``part`` (rendered and degraded into ``--cache``)."""
    from shellac.engine.errors import ParameterError
    from shellac.lab.heldout.runner import prepare_excerpts

    if not 0 <= args.first < args.excerpts:
        raise ParameterError(f"--first {args.first} must lie in 0..{args.excerpts - 1} "
                             f"(--excerpts {args.excerpts})")
    return prepare_excerpts(part, args.excerpts, args.seconds, args.sample_rate, args.seed, args.cache,
                            first=args.first, log=_log)


def cmd_bench_heldout(args: argparse.Namespace) -> int:
    """Run the held-out benchmark and write ``<name>.json``, ``<name>.md`` and plots under ``--out``."""
    from shellac.lab.evaluation.visqol import visqol_available
    from shellac.lab.heldout.bench import generative_settings, run_bench, select_rows
    from shellac.lab.heldout.report import markdown, plot_excerpts, run_context, write_json, write_markdown

    command = "shellac " + shlex.join(sys.argv[1:])
    context = run_context(command)
    visqol, scorer = _visqol(args)
    part = heldout_part(args)
    excerpts = _excerpts(args, part)
    overrides = _overrides(args)
    rows = select_rows(args.rows.split(",") if args.rows else None, args.kind)
    args.name = args.name or f"heldout-{args.kind}"
    outcome = run_bench(
        excerpts,
        rows,
        args.models_dir.resolve(),
        overrides=overrides,
        device=args.device,
        keep_outputs=args.plots,
        visqol=visqol,
        workers=args.workers,
        log=_log,
    )
    settings = {
        "name": args.name,
        "part": args.part,
        "composers": list(part.composers),
        **_source_settings(part, overrides),
        "excerpts": args.excerpts,
        "first": args.first,
        "seconds": args.seconds,
        "sample_rate": args.sample_rate,
        "seed": args.seed,
        "overrides": overrides,
        "models_dir": str(args.models_dir),
        "step_params": generative_settings(args.kind, overrides),
        "visqol": f"{scorer}, audio mode" if scorer else None,
    }
    notes = (
        f"ViSQOL: v3 audio mode ({scorer}, a pure-Python port with its SVR model), MOS-LQO "
        "1–5, both signals resampled to 48 kHz and the estimate scaled by its least-squares gain "
        "onto the clean render first."
        if scorer else
        "ViSQOL: not scored (" + ("--visqol off" if visqol_available() else "visqol-python not installed")
        + "); no stand-in is reported under its name."
    )
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(outcome, args.out / f"{args.name}.json", context, settings)
    text = markdown(outcome, context, settings, notes)
    write_markdown(args.out / f"{args.name}.md", text)
    for path in plot_excerpts(outcome, args.out, args.name):
        _log(f"plot: {path}")
    print(text)
    return 0


def cmd_record_standing(args: argparse.Namespace) -> int:
    """Store the standing of ``--model`` in the report ``args.report`` in that bundle's card."""
    import json

    from shellac.engine.errors import ParameterError
    from shellac.engine.models.standing import record_standing
    from shellac.lab.heldout.standing import standing_from_report

    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParameterError(f"cannot read the benchmark report {args.report}: {exc}") from exc
    standing = standing_from_report(report, args.model)
    path = record_standing(args.models_dir / args.model, standing)
    print(standing.summary(args.model))
    _log(f"recorded in {path}/card.json")
    return 0


def _source_settings(part: HeldoutPart, overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The soundfont of played material; for sung material, the synthesiser and each singer's model."""
    from shellac.lab.heldout.bench import KINDS
    from shellac.lab.heldout.runner import ChainRun, catalog_run
    from shellac.lab.heldout.sung import VOICES

    if part.soundfont is not None:
        return {"soundfont": part.soundfont.name}
    run = ChainRun(KINDS[part.kind].generative, overrides)
    return {
        "kind": part.kind,
        "renderer": "shellac.lab.synthesis.singing",
        "models": {v: catalog_run(run, v).overrides["generative_eq"]["model"] for v in VOICES},
    }


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def cmd_bench_guidance(args: argparse.Namespace) -> int:
    """Run the sweep, write ``<name>.json``/``.md`` and, with --write, the bundle's measured guidance."""
    from shellac.engine.atomic import atomic_write_json, atomic_write_text
    from shellac.engine.errors import ParameterError
    from shellac.engine.models.guidance import record_guidance
    from shellac.lab.heldout.material import load_heldout
    from shellac.lab.heldout.report import run_context
    from shellac.lab.heldout.sweep import choose, gate_values, grid, measured_guidance, run_sweep, separation

    if args.kind != "piano":
        raise ParameterError(
            f"bench-guidance sweeps the piano profile only; --kind {args.kind} is for bench-heldout"
        )
    if args.part != "validation":
        raise ParameterError(
            "settings are chosen on the validation part only; the benchmark part is held out"
        )
    command = "shellac " + shlex.join(sys.argv[1:])
    context = run_context(command)
    visqol, scorer = _visqol(args)
    part = load_heldout(args.part)
    excerpts = _excerpts(args, part)
    points = grid(
        [int(v) for v in _floats(args.grid_steps)], _floats(args.grid_sigma_y), _floats(args.grid_xi)
    )
    overrides = _overrides(args)
    overrides.setdefault("generative_eq", {})["model"] = args.model
    outcome = run_sweep(
        excerpts, points, args.models_dir.resolve(), overrides=overrides, device=args.device, visqol=visqol,
        workers=args.workers, log=_log,
    )
    best, table = choose(outcome, points)
    material = (
        f"{len(excerpts)} × {args.seconds} s excerpts (from index {args.first}) of the validation works "
        f"({', '.join(part.composers)}) rendered with {part.soundfont.name}, seed {args.seed}, "
        f"chains of shellac.lab.heldout.chains; common overrides {overrides}"
    )
    record = measured_guidance(best, table, material, command)
    gates = gate_values(outcome)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        args.out / f"{args.name}.json",
        {
            "context": context,
            "chosen": record.model_dump(mode="json"),
            "gate_values": gates,
            "gate_separation": separation(gates),
            "per_excerpt": {k: v for k, v in outcome.scores.items()},
            "excerpts": [e.name for e in excerpts],
        },
    )
    lines = [
        f"# Guidance sweep: {args.name}",
        "",
        f"- command: `{command}`",
        f"- date: {context['date']}; git commit `{context['git_commit']}`; OMP_NUM_THREADS="
        f"{context['omp_num_threads']}; load at start `{context['uptime']}`",
        f"- material: {material}",
        f"- objective: {record.objective}",
        f"- ViSQOL: {scorer + ', audio mode (reported, not in the objective)' if scorer else 'not scored'}",
        "",
        "| setting | LSD dB | LTAS err. dB | high band dB | low band dB | SI-SDR dB | ViSQOL MOS-LQO "
        "| objective | wins vs LTAS-EQ (LSD/LTAS/both %) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, row in table.items():
        wins = row.get("wins_vs_ltas_eq_pct")
        win_text = "/".join(f"{wins[k]:.0f}" for k in ("lsd", "ltas_err", "both")) if wins else "–"
        mos = f"{row['visqol_moslqo']:.2f}" if "visqol_moslqo" in row else "–"
        lines.append(
            f"| {key}{' **(chosen)**' if key == best.key else ''} | {row['lsd_db']:.2f} | "
            f"{row['ltas_err_db']:.2f} | {row['high_band_db']:.2f} | {row['low_band_db']:.2f} | "
            f"{row['si_sdr_db']:.2f} | {mos} | {row['objective']:.2f} | {win_text} |"
        )
    atomic_write_text(args.out / f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.write:
        path = record_guidance(args.models_dir / args.model, record)
        _log(f"recorded {best.key} in {path}/card.json")
    return 0
