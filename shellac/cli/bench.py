"""``shellac bench``: the objective benchmark of the generative EQ (BABE-2 variants and baselines)."""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from shellac.cli.common import device_choice

DEFAULT_CLEAN = Path("catalogs/demo/reference")
DEFAULT_OUT = Path("docs/benchmarks")
# --quick: a random-weight tiny model, 3 short excerpts, 4 sampler steps, 5 filter iterations.
QUICK = {"excerpts": 3, "steps": 4, "filter_iters": 5}
QUICK_NOTE = (
    "**Smoke test, not a quality result:** produced by `--quick` with a random-weight tiny U-Net "
    "(no training), a handful of sampler steps and filter iterations. The numbers show that every "
    "row runs and is scored; they say nothing about how well BABE-2 restores."
)



def add_bench_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add ``bench`` to the ``shellac`` sub-commands and return its parser."""
    p = subparsers.add_parser(
        "bench", help="objective benchmark: BABE-2 variants and baselines on degraded clean excerpts",
        description="Cut clean recordings into excerpts, degrade each with a random 78 rpm chain "
        "(known response), restore them with every variant and score LSD, SI-SDR, LTAS distance, "
        "response-estimation errors (effective, from the audio, and of the blind filter), a log-mel Fréchet "
        "distance (and ViSQOL if installed), with costs.",
    )
    configure_parser(p)
    return p


def configure_parser(p: argparse.ArgumentParser) -> None:
    """The benchmark's options (shared by ``shellac bench`` and scripts/bench_generative_eq.py)."""
    p.add_argument("--model", type=Path, help="model bundle directory (required unless --quick)")
    p.add_argument("--quick", action="store_true",
                   help="CI smoke test: random-weight tiny model unless --model, 3 short excerpts, "
                   "4 sampler steps, 5 filter iterations")
    p.add_argument("--kind", choices=("piano", "voice"), default="piano",
                   help="sampler preset (paper's Table 3) and default clean folder")
    p.add_argument("--clean", type=Path, action="append",
                   help="folder (or file) of clean recordings, repeatable "
                   "(default: catalogs/demo/reference/<kind>)")
    p.add_argument("--excerpts", type=int, help="number of excerpts (default 8; --quick 3)")
    p.add_argument("--excerpt-seconds", type=float,
                   help="excerpt length in seconds (default: one model segment)")
    p.add_argument("--steps", type=int, help="sampler steps N (default: preset, 51; --quick 4)")
    p.add_argument("--filter-iters", type=int, help="Adam iterations per filter fit (default 100; --quick 5)")
    p.add_argument("--sigma-y", type=float, help="noise regularisation σ_y (default: preset)")
    p.add_argument("--xi", type=float, help="guidance step ξ (default: preset)")
    p.add_argument("--sigma-start", type=float, help="warm-start σ (default: preset)")
    p.add_argument("--variants", help="comma-separated rows: original, ltas_eq, babe_lowpass, babe2, "
                   "babe2_no_noise_reg, babe2_ltas_init, babe2_ltas_obj, babe2_ltas_both (the default: "
                   "all of these); by name only: babe2_reference, ablate_filter_design, "
                   "ablate_carry_filter, ablate_sampling, ablate_mask_aware_fit, ablate_hand_over "
                   "(docs/babe2-parity.md)")
    p.add_argument("--seed", type=int, default=0, help="seed of excerpts, degradations and sampler noise")
    p.add_argument("--n-mels", type=int, default=32, help="log-mel bands of the Fréchet embedding")
    p.add_argument("--visqol", choices=("auto", "on", "off"), default="auto",
                   help="ViSQOL scores (optional package visqol-python); auto: on if installed, "
                   "off with --quick")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    p.add_argument("--name", help="report name (default: quick-tiny-random, or <model>-<kind>)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder (default docs/benchmarks)")
    p.add_argument("--isolate", action="store_true",
                   help="run each variant in a fresh process, so its peak memory (RSS) is its own "
                   "(adds a model load per variant)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=cmd_bench)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark, print the table, write the report; 0 on success."""
    import torch

    from shellac.engine.dsp.ltas import ltas_from_files
    from shellac.engine.errors import ParameterError
    from shellac.engine.models.bundle import load_bundle
    from shellac.lab.evaluation import (
        PRESETS,
        BenchSettings,
        build_evaluation_set,
        clean_files,
        markdown_table,
        run_benchmark,
        save_tiny_random_bundle,
        select_variants,
        visqol_available,
        write_report,
    )
    from shellac.lab.evaluation.tiny_model import TINY_SAMPLE_RATE

    if args.model is None and not args.quick:
        raise ParameterError("pass --model DIR (a model bundle), or --quick for a smoke test")
    device = torch.device(device_choice(args.device))
    files = clean_files(args.clean or [DEFAULT_CLEAN / args.kind])
    quick = dict(QUICK) if args.quick else {}
    with tempfile.TemporaryDirectory(prefix="shellac-bench-") as tmp:
        if args.model is not None:
            bundle = load_bundle(args.model, device=str(device))
            model_description = f"`{args.model}` ({bundle.card.name}, checksum {bundle.checksum[:12]})"
        else:
            # The reference LTAS of the tiny model is the clean material's, as a trained model's would be.
            ltas = ltas_from_files(files, TINY_SAMPLE_RATE, 1024)
            bundle = load_bundle(save_tiny_random_bundle(Path(tmp) / "tiny", ltas), device=str(device))
            model_description = "random-weight tiny UNet1D at 11 025 Hz (smoke test, untrained)"
        sr = bundle.config.sample_rate
        excerpt_samples = (int(round(args.excerpt_seconds * sr)) if args.excerpt_seconds
                           else bundle.config.segment_length)
        excerpts = build_evaluation_set(files, sr, n_excerpts=args.excerpts or quick.get("excerpts", 8),
                                        excerpt_samples=excerpt_samples, seed=args.seed)
        sampler = PRESETS[args.kind]
        overrides = {"n_steps": args.steps or quick.get("steps"), "sigma_y": args.sigma_y, "xi": args.xi,
                     "sigma_start": args.sigma_start}
        sampler = replace(sampler, **{k: v for k, v in overrides.items() if v is not None})
        use_visqol = args.visqol == "on" or (args.visqol == "auto" and not args.quick and visqol_available())
        filter_iters = args.filter_iters or quick.get("filter_iters", 100)
        settings = BenchSettings(sampler=sampler, filter_iters=filter_iters,
                                 seed=args.seed, n_mels=args.n_mels, visqol=use_visqol)
        variants = select_variants(args.variants.split(",") if args.variants else None)
        _log(f"bench: {len(excerpts)} excerpts × {len(variants)} variants on {device}")
        result = run_benchmark(bundle, excerpts, variants, settings, device=device, isolate=args.isolate,
                               log=_log)
    name = args.name or ("quick-tiny-random" if args.model is None else f"{args.model.name}-{args.kind}")
    notes = QUICK_NOTE if args.model is None else ""
    if not use_visqol:
        notes += ("\n\n" if notes else "") + (
            "ViSQOL: not scored (" + ("off for --quick" if args.quick and args.visqol == "auto"
                                      else "visqol-python not installed" if not visqol_available()
                                      else "--visqol off") + ").")
    command = getattr(args, "command_line", None) or "shellac " + shlex.join(sys.argv[1:])
    paths = write_report(result, args.out, name, command=command, model_description=model_description,
                         notes=notes, plots=not args.no_plots)
    print(markdown_table(result))
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0


def main(argv: Sequence[str] | None = None, *, prog: str = "shellac bench") -> int:
    """Stand-alone entry point (used by scripts/bench_generative_eq.py)."""
    from shellac.engine.errors import ShellacError

    parser = argparse.ArgumentParser(prog=prog, description="Objective benchmark of the generative EQ.")
    configure_parser(parser)
    args = parser.parse_args(argv)
    args.command_line = f"{prog} {shlex.join(sys.argv[1:] if argv is None else list(argv))}"
    try:
        return cmd_bench(args)
    except ShellacError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
