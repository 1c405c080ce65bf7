"""Benchmark guidance methods on one prior: declipping, bandwidth extension, inpainting (VRDMG-style).

Usage (from the repository root):

    python scripts/bench_guidance.py --model models/piano            # a trained bundle
    python scripts/bench_guidance.py --quick                         # smoke check, tiny random model

Prints the tables and writes docs/benchmarks/guidance.md (``--out`` to change).
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.fixtures (the --quick bundle) when run as a script

from shellac.engine.atomic import atomic_write_text  # noqa: E402
from shellac.engine.audio_io import read_audio  # noqa: E402
from shellac.engine.blocks.overlap_add import BlockSpan  # noqa: E402
from shellac.engine.diffusion.methods import METHOD_NAMES, MethodSettings  # noqa: E402
from shellac.engine.dsp.resample import resample  # noqa: E402
from shellac.engine.models.bundle import LoadedBundle, load_bundle  # noqa: E402
from shellac.engine.operators.bandlimit import LowpassOperator  # noqa: E402
from shellac.engine.operators.base import Operator  # noqa: E402
from shellac.engine.operators.clipping import ClippingOperator, level_for_sdr  # noqa: E402
from shellac.engine.operators.inpainting import InpaintingOperator, gap_mask  # noqa: E402
from shellac.engine.restoration import BlockSettings, KnownOperators, SamplerSettings, restore_blocks  # noqa: E402
from shellac.lab.evaluation.metrics import lsd, si_sdr  # noqa: E402

DECLIP_SDRS_DB = (5.0, 10.0)
BWE_CUTOFFS_HZ = (3000.0, 5000.0)
GAPS_S = (0.1, 0.5, 1.0)


def piano_like(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """Deterministic piano-like material: decaying, slightly inharmonic notes and chords (peak 0.5)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n)
    t_note = 0.0
    while t_note < seconds:
        start = int(t_note * sr)
        length = n - start
        t = np.arange(length) / sr
        for _ in range(rng.integers(1, 4)):
            f0 = 110.0 * 2 ** (rng.integers(0, 30) / 12)
            for k in range(1, 16):
                fk = f0 * k * np.sqrt(1 + 4e-4 * k * k)
                if fk >= sr / 2:
                    break
                out[start:] += rng.uniform(0.5, 1.0) / k * np.sin(2 * np.pi * fk * t + rng.uniform(0, 6.3)) \
                    * np.exp(-t * (1.5 + 0.4 * k))
        t_note += float(rng.uniform(0.25, 0.6))
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    """10·log10(‖ref‖² / ‖ref − est‖²), dB."""
    return float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / max(np.sum((ref - est) ** 2.0), 1e-30)))


@dataclass
class Results:
    """Scores per (task, method) and time per method."""

    scores: dict[tuple[str, str], float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    audio_s: dict[str, float] = field(default_factory=dict)
    nfe: dict[str, int] = field(default_factory=dict)


def run_method(bundle: LoadedBundle, method: MethodSettings, y: np.ndarray,
               make_operator: Callable[[BlockSpan, float], Operator | None], args: argparse.Namespace,
               res: Results) -> np.ndarray:
    """Restore ``y`` with one method; account its time; return the restoration."""
    cfg = bundle.config
    sampler = SamplerSettings(n_steps=args.steps, sigma_start=args.sigma_start_rel * cfg.sigma_data,
                              sigma_min=args.sigma_min_rel * cfg.sigma_data, rho=13.0, xi=method.xi,
                              sigma_y=method.sigma_y, s_churn=args.s_churn)
    denoiser = bundle.denoiser(args.device)
    started = time.perf_counter()
    out = restore_blocks(denoiser, y, operators=KnownOperators(make_operator), method=method, sampler=sampler,
                         blocks=BlockSettings(segment_length=cfg.segment_length, seed=args.seed),
                         target_std=cfg.sigma_data, device=args.device)
    res.seconds[method.name] = res.seconds.get(method.name, 0.0) + time.perf_counter() - started
    res.audio_s[method.name] = res.audio_s.get(method.name, 0.0) + y.size / cfg.sample_rate
    res.nfe[method.name] = res.nfe.get(method.name, 0) + sum(r["nfe"] for r in out.reports)
    return out.audio


def declip_tasks(bundle: LoadedBundle, clean: np.ndarray, methods: list[MethodSettings],
                 args: argparse.Namespace, res: Results) -> None:
    for sdr in DECLIP_SDRS_DB:
        c = level_for_sdr(clean, sdr)
        y = np.clip(clean, -c, c)
        task = f"declip {sdr:g} dB"
        res.scores[(task, "input")] = si_sdr(clean, y)

        def make_operator(span: BlockSpan, gain: float, y: np.ndarray = y, c: float = c) -> Operator | None:
            block = y[span.start:span.start + span.valid]
            return ClippingOperator(c * gain) if (np.abs(block) >= c - 1e-6).any() else None

        for m in methods:
            est = run_method(bundle, m, y, make_operator, args, res)
            res.scores[(task, m.name)] = si_sdr(clean, est) - res.scores[(task, "input")]


def bwe_tasks(bundle: LoadedBundle, clean: np.ndarray, methods: list[MethodSettings],
              args: argparse.Namespace, res: Results) -> None:
    sr = bundle.config.sample_rate
    for cutoff in BWE_CUTOFFS_HZ:
        task = f"bwe {cutoff / 1000:g} kHz"
        if cutoff >= sr / 2:
            continue
        op = LowpassOperator(sr, cutoff)
        y = op(torch.from_numpy(clean)[None].double())[0].float().numpy()
        res.scores[(task, "input")] = lsd(clean, y)
        for m in methods:
            est = run_method(bundle, m, y, lambda span, gain, op=op: op, args, res)
            res.scores[(task, m.name)] = lsd(clean, est)


def inpaint_tasks(bundle: LoadedBundle, clean: np.ndarray, methods: list[MethodSettings],
                  args: argparse.Namespace, res: Results) -> None:
    sr = bundle.config.sample_rate
    for gap_s in GAPS_S:
        length = int(gap_s * sr)
        start = clean.size // 2 - length // 2
        if start < sr // 10:
            continue
        mask = gap_mask(clean.size, [(start, length)])
        y = clean * mask
        gap = slice(start, start + length)
        task = f"inpaint {gap_s:g} s"

        def make_operator(span: BlockSpan, gain: float, mask: np.ndarray = mask) -> Operator | None:
            m = np.ones(span.length, dtype=np.float32)
            m[: span.valid] = mask[span.start:span.start + span.valid]
            return None if m.all() else InpaintingOperator(torch.from_numpy(m))

        for m in methods:
            est = run_method(bundle, m, y, make_operator, args, res)
            res.scores[(task + " SNR", m.name)] = snr_db(clean[gap], est[gap])
            res.scores[(task + " LSD", m.name)] = lsd(clean[gap], est[gap], n_fft=min(1024, length))


NOTES = [
    "## Methods (shellac.engine.diffusion.methods)",
    "",
    "- **rg**: reconstruction guidance, BABE-2's posterior sampling (`PosteriorSamplingGuidance`): "
    "score − ξ/(t·rms(g))·g, g = ∇ₓ½‖A(D(x)) − ỹ‖².",
    "- **rg_drho**: RG with the step scaled by δ(t) = (1 + σ_d²/t²)^{κ/2} = (σ_d/r_t)^κ, r_t² = "
    "σ_d²t²/(σ_d² + t²) being the x₀|x_t variance ΠGDM weights its guidance by (Song et al., ICLR 2023); "
    "κ = 0 is RG.",
    "- **dc**: unguided score; after every step the observed part is replaced, "
    "x ← project(x − tε, y) + tε (= A⁺(y + tAε) + (I − A⁺A)x for linear A); exact y at t = 0.",
    "- **repaint**: dc plus RePaint resampling: steps whose index lies in [φ₁N/3, φ₂N/3) are redone u "
    "times after re-noising from t_next back to t_cur.",
    "- **pigdm**: g = (∂D/∂x)ᵀ(A⁺y − A⁺A·D), normalised like RG. For an orthogonal projection A (mask, "
    "ideal low-pass) with y in its range and σ_y = 0 this is exactly RG's direction, so the inpainting rows "
    "coincide (the per-block low-pass makes the BWE rows differ slightly); they differ for clipping.",
    "- **ddnm**: D ← A⁺y + (I − A⁺A)D at every denoiser call (no network gradient).",
    "- **dgg**: the ODE direction ε̂ = (x − D)/t is rotated towards g by spherical interpolation (weight λ), "
    "keeping its norm.",
]


def render(res: Results, methods: list[str], header: list[str]) -> str:
    """The Markdown report."""
    def table(tasks: list[str], rows: list[str], fmt: str = "{:.2f}") -> list[str]:
        tasks = [t for t in tasks if any((t, r) in res.scores for r in rows)]
        lines = ["| method | " + " | ".join(tasks) + " |", "|---|" + "---:|" * len(tasks)]
        for r in rows:
            cells = [fmt.format(res.scores[(t, r)]) if (t, r) in res.scores else "–" for t in tasks]
            lines.append(f"| {r} | " + " | ".join(cells) + " |")
        return lines

    declip = [f"declip {s:g} dB" for s in DECLIP_SDRS_DB]
    bwe = [f"bwe {c / 1000:g} kHz" for c in BWE_CUTOFFS_HZ]
    inpaint = [f"inpaint {g:g} s {k}" for g in GAPS_S for k in ("SNR", "LSD")]
    out = header + ["", "## Declipping (SI-SDR improvement, dB; higher is better) and bandwidth extension "
                    "(LSD, dB; lower is better)", "",
                    "The `input` row is the degraded signal: its SI-SDR for declipping, its LSD for BWE.", ""]
    out += table(declip + bwe, ["input", *methods])
    out += ["", "## Inpainting of one gap (SNR over the gap, dB, higher is better; LSD over the gap, dB)", ""]
    out += table(inpaint, methods)
    out += ["", "## Cost", "", "| method | seconds per second of audio | denoiser calls |", "|---|---:|---:|"]
    for m in methods:
        out.append(f"| {m} | {res.seconds[m] / res.audio_s[m]:.3f} | {res.nfe[m]} |")
    return "\n".join(out + ["", *NOTES]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", type=Path, help="model bundle directory (a trained prior)")
    src.add_argument("--quick", action="store_true", help="smoke check on a tiny random-weight bundle")
    parser.add_argument("--audio", type=Path, nargs="*", default=[],
                        help="clean material (default: synthetic)")
    parser.add_argument("--seconds", type=float, default=None, help="material length, s (8; quick: 1.5)")
    parser.add_argument("--steps", type=int, default=None, help="sampler steps N (35; quick: 3)")
    parser.add_argument("--methods", nargs="*", default=list(METHOD_NAMES), choices=METHOD_NAMES)
    parser.add_argument("--xi", type=float, default=1.0, help="step ξ of rg, rg_drho, pigdm")
    parser.add_argument("--sigma-y", type=float, default=0.0, help="noise regularisation of rg, rg_drho, dgg")
    parser.add_argument("--sigma-start-rel", type=float, default=5.0, help="σ_start in units of σ_data")
    parser.add_argument("--sigma-min-rel", type=float, default=1e-3, help="σ_min in units of σ_data")
    parser.add_argument("--s-churn", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (quick: 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "guidance.md")
    args = parser.parse_args(argv)
    # One thread by default for --quick: on a shared 2-core machine more threads spin against each other.
    threads = args.threads or (1 if args.quick else None)
    if threads:
        torch.set_num_threads(threads)
    args.seconds = args.seconds or (1.5 if args.quick else 8.0)
    args.steps = args.steps or (3 if args.quick else 35)

    with tempfile.TemporaryDirectory() as tmp:
        if args.quick:
            from tests.fixtures.bundles import make_tiny_bundle

            model_dir = make_tiny_bundle(Path(tmp), "tiny", sample_rate=22050, segment_length=16384)
        else:
            model_dir = args.model
        bundle = load_bundle(model_dir, device=args.device)
    sr = bundle.config.sample_rate
    if args.audio:
        parts = [resample(read_audio(p)[0].mean(axis=0), read_audio(p)[1], sr) for p in args.audio]
        clean = np.concatenate(parts)[: int(args.seconds * sr)]
        material = ", ".join(p.name for p in args.audio)
    else:
        clean = piano_like(args.seconds, sr, args.seed)
        material = f"synthetic piano-like notes (seed {args.seed})"
    clean = clean.astype(np.float32)
    methods = [MethodSettings(name=m, xi=args.xi, sigma_y=args.sigma_y) for m in args.methods]
    res = Results()
    declip_tasks(bundle, clean, methods, args, res)
    bwe_tasks(bundle, clean, methods, args, res)
    inpaint_tasks(bundle, clean, methods, args, res)

    command = "python scripts/bench_guidance.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    smoke = " — SMOKE CHECK (random-weight tiny model)" if args.quick else ""
    title = "# Guidance methods benchmark" + smoke
    header = [title, ""]
    if args.quick:
        header += ["> **These numbers come from a tiny model with random weights.** They check that every "
                   "method and task runs end to end and show relative cost; they say nothing about "
                   "restoration quality. Rerun with `--model DIR` on a trained bundle for real numbers.", ""]
    header += [f"- command: `{command.strip()}`",
               f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; "
               f"machine: {platform.machine()}, device {args.device}, "
               f"{torch.get_num_threads()} CPU thread(s), "
               f"torch {torch.__version__}",
               f"- prior: `{bundle.card.name}` ({bundle.config.family}, {sr} Hz, segment "
               f"{bundle.config.segment_length} samples, σ_data {bundle.config.sigma_data:g}, checksum "
               f"`{bundle.checksum[:16]}`)",
               f"- material: {material}, {clean.size / sr:.2f} s mono",
               f"- sampler: N = {args.steps}, σ_start = {args.sigma_start_rel:g}·σ_data, σ_min = "
               f"{args.sigma_min_rel:g}·σ_data, ρ = 13, S_churn = {args.s_churn:g}; ξ = {args.xi:g}, "
               f"σ_y = {args.sigma_y:g}, RG δρ κ = 0.5, DGG λ = 0.2, RePaint u = 2 in phases 0–2 (of 3)",
               "- tasks: declipping to input SDR 5 and 10 dB (level by bisection), ideal low-pass at 3 and "
               "5 kHz, one centred gap of 0.1, 0.5 and 1 s; same material, prior and seed for every method"]
    report = render(res, args.methods, header)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, report)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
