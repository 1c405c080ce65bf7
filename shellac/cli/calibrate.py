"""``shellac calibrate-prior``: measure a prior's spectral bias on held-out validation material."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from shellac.cli.heldout import DEFAULT_CACHE, DEFAULT_OUT


def _step_counts(text: str) -> list[int]:
    """``--steps``: comma-separated sampler step counts, each at least 2."""
    try:
        steps = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not steps or min(steps) < 2:
        raise argparse.ArgumentTypeError(f"expected step counts of at least 2, got {text!r}")
    return steps


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def add_calibrate_command(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``calibrate-prior`` to the ``shellac`` sub-commands."""
    p = subparsers.add_parser(
        "calibrate-prior",
        help="measure a prior's per-octave bias on held-out VALIDATION material; record it",
        description="Render the validation works of catalogs/heldout.toml (never the benchmark part) on "
        "the held-out soundfont, or on the --soundfont ones (the training fonts keep the held-out one "
        "unseen) (--kind voice: sing them, tenor and soprano alternating; --voice keeps one singer), cut "
        "them into model-length segments, noise each to the kind's profile's (piano, voice) σ_start and "
        "sample it back without guidance, and measure per octave how far above clean the prior lands, for "
        "each sampler step count. With --write the result is stored in the bundle's card (spectral_bias; "
        "checksums re-sealed): the generative stage's consistency step then divides the prior's sample by "
        "it at the matching N.",
    )
    p.add_argument("--kind", choices=("piano", "voice"), default="piano",
                   help="validation material and profile: piano or voice (default piano)")
    p.add_argument("--voice", choices=("tenor", "soprano"),
                   help="with --kind voice: measure on this singer's excerpts only")
    p.add_argument("--model", default="piano", help="bundle key in --models-dir (default piano)")
    p.add_argument("--models-dir", type=Path, default=Path("models"),
                   help="models directory (default models)")
    p.add_argument("--steps", type=_step_counts, default=[8, 20, 51],
                   help="comma-separated sampler step counts N (default 8,20,51)")
    p.add_argument("--soundfont", action="append", type=Path, metavar="SF",
                   help="with --kind piano: render the validation works with this soundfont instead of the "
                   "held-out one (a file name in /usr/share/sounds/sf2|sf3, or a path); repeat it to measure "
                   "on several, --excerpts each. Calibrating on the training soundfonts keeps the held-out "
                   "one unseen by the bundle")
    p.add_argument("--excerpts", type=int, default=8,
                   help="validation excerpts, per soundfont with --soundfont (default 8)")
    p.add_argument("--seconds", type=float, default=5.5, help="excerpt length, s (default 5.5)")
    p.add_argument("--sample-rate", type=int, default=22050, help="render rate, Hz (default 22050)")
    p.add_argument("--seed", type=int, default=0, help="seed of the excerpts and of the restarts (default 0)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                   help=f"render cache (default {DEFAULT_CACHE})")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report folder (default {DEFAULT_OUT})")
    p.add_argument("--name", help="report name (default prior-bias-<model>)")
    p.add_argument("--write", action="store_true", help="store the measurement in the bundle's card")
    p.set_defaults(func=cmd_calibrate_prior)


def cmd_calibrate_prior(args: argparse.Namespace) -> int:
    """Measure, write ``<name>.json``/``.md`` and, with --write, the bundle's spectral bias."""

    from shellac.engine.atomic import atomic_write_json, atomic_write_text
    from shellac.engine.errors import ParameterError
    from shellac.engine.models.bundle import load_bundle
    from shellac.engine.models.spectral_bias import record_spectral_bias
    from shellac.lab.heldout.material import find_soundfont, load_heldout
    from shellac.lab.heldout.prior_bias import clean_segments, measure_spectral_bias
    from shellac.lab.heldout.report import run_context
    from shellac.lab.heldout.runner import prepare_excerpts
    from shellac.stages.generative_eq import GenerativeEqParams
    from shellac.stages.profiles import load_plan

    command = "shellac " + shlex.join(sys.argv[1:])
    context = run_context(command)
    if args.voice and args.kind != "voice":
        raise ParameterError("--voice is for --kind voice")
    if args.soundfont and args.kind != "piano":
        raise ParameterError("--soundfont is for --kind piano (voice material is sung)")
    part = load_heldout("validation", kind=args.kind)
    parts = ([replace(part, soundfont=find_soundfont(sf)) for sf in args.soundfont] if args.soundfont
             else [part])
    excerpts = [e for each in parts
                for e in prepare_excerpts(each, args.excerpts, args.seconds, args.sample_rate, args.seed,
                                          args.cache, log=_log)]
    if args.voice:
        excerpts = [e for e in excerpts if e.voice == args.voice]
        if not excerpts:
            raise ParameterError(f"none of the first {args.excerpts} validation excerpts is sung by a "
                                 f"{args.voice}; raise --excerpts (singers alternate, tenor first)")
    params = load_plan(args.kind).step("generative_eq").params
    if not isinstance(params, GenerativeEqParams):  # the registry pairs the stage with its params
        raise TypeError(f"generative_eq params are {type(params).__name__}")
    bundle = load_bundle(args.models_dir / args.model)
    cfg = bundle.config
    segments = clean_segments(excerpts, cfg.sample_rate, cfg.segment_length, cfg.sigma_data)
    soundfont = (" and ".join(each.soundfont.name for each in parts if each.soundfont) if part.soundfont
                 else "the project's singing synthesiser")
    singer = f" ({args.voice} only)" if args.voice else ""
    material = (f"{segments.shape[0]} segments of {cfg.segment_length} samples from {len(excerpts)} × "
                f"{args.seconds} s excerpts of the validation works ({', '.join(part.composers)}) "
                f"rendered with {soundfont}{singer}, seed {args.seed}")
    bias = measure_spectral_bias(bundle, segments, args.steps, params, seed=args.seed, measured_on=material,
                                 command=command)
    name = args.name or f"prior-bias-{args.model}"
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / f"{name}.json", {"context": context, "model_checksum": bundle.checksum,
                                                    "spectral_bias": bias.model_dump(mode="json")})
    edges = bias.edges_hz
    header = " | ".join(f"{lo / 1000:g}–{hi / 1000:g} kHz"
                        for lo, hi in zip(edges[:-1], edges[1:], strict=True))
    lines = [f"# Spectral bias of `{args.model}`", "",
             f"- command: `{command}`",
             f"- date: {context['date']}; git commit `{context['git_commit']}`; OMP_NUM_THREADS="
             f"{context['omp_num_threads']}; load at start `{context['uptime']}`",
             f"- model checksum: `{bundle.checksum}`",
             f"- material: {material}",
             f"- restarts: σ_start {bias.sigma_start}, σ_min {bias.sigma_min}, ρ {bias.rho} "
             f"(the `{args.kind}` "
             "profile's), no guidance; dB = output power minus clean power per octave, mean over "
             "segments", "",
             f"| N | {header} |", "|---|" + "---:|" * (len(edges) - 1)]
    lines += [f"| {n} | " + " | ".join(f"{v:+.1f}" for v in values) + " |"
              for n, values in sorted(bias.excess_db.items())]
    atomic_write_text(args.out / f"{name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.write:
        path = record_spectral_bias(args.models_dir / args.model, bias)
        print(f"recorded the spectral bias in {path}/card.json", file=sys.stderr)
    return 0
