"""Build a reference LTAS from many renders (several soundfonts, many works and registers); update bundles.

Either reads clips already rendered by scripts/make_training_data.py (--from-dir,
its manifest names each clip's score and soundfont), or renders clips with its renderers (FluidSynth for
piano; the singing synthesiser, plus GM choir through each soundfont, for voice)
from music21 corpus works of the given composers, never from a soundfont or a
work listed in catalogs/heldout.toml. Each clip's LTAS is taken at unit std (the
convention of shellac.engine.dsp.ltas); the reference is their geometric mean per
source (soundfont or sample folder), then the geometric mean over sources, each
source weighing the same. The geometric mean minimises the expected squared dB
error for an instrument drawn from the sources; an arithmetic mean of powers lets
the brightest source set the treble (FluidR3's piano is ~30 dB brighter at 4–8 kHz
than TimGM6mb's, csound's and the recorded Salamander grand). With --bundle, the LTAS replaces
the bundle's ltas.json through the bundle-writing code (so the checksums stay
valid) and the card's ``reference_ltas`` records where it came from.

Run: ``.venv/bin/python scripts/build_reference_ltas.py --kind piano --out /tmp/piano-ltas.json
--bundle models/piano``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_demo  # noqa: E402
import make_training_data as mtd  # noqa: E402

from shellac.engine.atomic import atomic_write_json  # noqa: E402
from shellac.engine.dsp.ltas import Ltas, compute_ltas  # noqa: E402
from shellac.engine.models.bundle import load_bundle, save_bundle  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2")
# haydn is left out of the reference so scripts/eval_chain_eq.py can judge it on unseen works.
PIANO_COMPOSERS = ("bach", "mozart", "beethoven")
OCTAVES_HZ = (62.5, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)
"""Lower edges of the octave bands of the per-source table."""


def heldout() -> dict[str, Any]:
    """catalogs/heldout.toml."""
    return tomllib.loads((REPO / "catalogs" / "heldout.toml").read_text(encoding="utf-8"))


def check_not_heldout(kind: str, soundfonts: list[Path], composers: list[str]) -> None:
    """Exit if a soundfont or composer is held out for ``kind``."""
    section = heldout()["piano" if kind == "piano" else "voice"]
    banned_fonts = set(section.get("soundfonts", []))
    banned_works = set(section.get("validation", [])) | set(section.get("benchmark", []))
    for font in soundfonts:
        if font.name in banned_fonts:
            sys.exit(f"build_reference_ltas: {font.name} is held out (catalogs/heldout.toml)")
    for composer in composers:
        if composer in banned_works:
            sys.exit(f"build_reference_ltas: {composer} is held out (catalogs/heldout.toml)")


def piano_pool(composers: list[str]) -> list[str]:
    """Corpus files of ``composers``, demo scores excluded."""
    from music21 import corpus

    excluded = mtd.demo_scores()
    paths = [Path(str(p)) for c in composers for p in corpus.getComposer(c)]
    return sorted(str(p) for p in paths if not mtd.is_excluded(p, excluded))


def render_clips(kind: str, soundfonts: list[Path], composers: list[str], clips: int, clip_s: float, sr: int,
                 seed: int) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """``clips`` clips per soundfont (piano) or per part (voice), with what each one is."""
    audio, info = [], []
    cache: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="shellac-ref-ltas-") as tmp:
        for f_index, font in enumerate(soundfonts):
            tools = make_demo.find_tools(font)
            if kind == "piano":
                pool = piano_pool(composers)
                for i in range(clips):
                    rng = np.random.default_rng([seed, f_index, i])
                    clip, meta = mtd.render_piano(rng, pool, [tools], sr, clip_s, cache, Path(tmp),
                                                  room_fraction=0.5, pedal_fraction=0.5)
                    audio.append(clip)
                    info.append({"soundfont": font.name, **meta})
                    print(f"build_reference_ltas: {font.name} {meta['score'].rsplit('/', 2)[-1]}", flush=True)
            else:
                pool = mtd.score_pool("voice")
                for i in range(clips):
                    rng = np.random.default_rng([seed, f_index, i])
                    part = ("tenor", "soprano")[i % 2]
                    # Half the clips sung by the synthesiser, half as GM choir through this soundfont.
                    clip, meta = mtd.render_voice(rng, part, pool, sr, clip_s, cache, tools,
                                                  1.0 if i % 4 >= 2 else 0.0, Path(tmp))
                    audio.append(clip)
                    info.append({"soundfont": font.name, **meta})
                    print(f"build_reference_ltas: {part} {meta['score'].rsplit('/', 2)[-1]}", flush=True)
    return audio, info


def clips_from_dir(folder: Path, sr: int, exclude: list[str]
                   ) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """Clips listed in a make_training_data manifest, leaving out the ``exclude`` composers."""
    from shellac.engine.audio_io import read_audio
    from shellac.engine.dsp.resample import resample

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    audio, info = [], []
    for name, entry in sorted(manifest["files"].items()):
        composer = entry["score"].split("/corpus/")[-1].split("/")[0]
        if composer in exclude:
            continue
        clip, rate = read_audio(folder / name)
        audio.append(resample(clip, rate, sr).mean(axis=0) if clip.ndim == 2 else resample(clip, rate, sr))
        info.append({"file": name, "composer": composer, **{k: entry[k] for k in entry
                                                             if k in ("score", "soundfont", "transpose")}})
    return audio, info


LOG_FLOOR = 1e-20
"""Power floor before taking logs (an empty bin of a silent clip)."""


def source_log_means(powers: list[np.ndarray], sources: list[str]) -> dict[str, np.ndarray]:
    """Each source's mean log power (its clips' geometric mean), by source name."""
    if not powers or len(powers) != len(sources):
        raise ValueError("need one source name per LTAS, and at least one LTAS")
    logs = np.log(np.maximum(np.asarray(powers, dtype=np.float64), LOG_FLOOR))
    names = np.asarray(sources)
    return {name: logs[names == name].mean(axis=0) for name in sorted(set(sources))}


def source_mean_power(powers: list[np.ndarray], sources: list[str]) -> np.ndarray:
    """Geometric mean over sources of each source's geometric-mean power (every source weighs the same)."""
    return np.exp(np.mean(list(source_log_means(powers, sources).values()), axis=0))


SPREAD_ALIGN_HZ = (250.0, 2000.0)
"""Band over which each source's level is aligned before the spread is taken (the chain fit's free level
absorbs a broadband offset; what matters is shape)."""


def source_spread_db(log_means: dict[str, np.ndarray], sample_rate: int, n_fft: int) -> np.ndarray | None:
    """Per bin, the std over sources of their dB level about the sources' mean, each source aligned on
    :data:`SPREAD_ALIGN_HZ`; None for fewer than two sources."""
    if len(log_means) < 2:
        return None
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    db = np.array([10.0 * curve / np.log(10.0) for curve in log_means.values()])
    db -= db.mean(axis=0)
    band = (freqs >= SPREAD_ALIGN_HZ[0]) & (freqs < SPREAD_ALIGN_HZ[1])
    db -= db[:, band].mean(axis=1, keepdims=True)
    return db.std(axis=0)


def source_shape_basis(powers: list[np.ndarray], sources: list[str], reference: np.ndarray, sample_rate: int,
                       n_fft: int, components: int) -> np.ndarray:
    """The ``components`` principal directions (dB per bin, each one standard deviation) of how single clips
    depart from ``reference``, each clip aligned on :data:`SPREAD_ALIGN_HZ` and each source weighing the same.

    The chain fit uses them as the instrument's likely departures from the reference (a piece's register,
    a brighter or darker instrument), under a Gaussian prior, instead of reading them as the recording chain.
    """
    if components < 1 or components > len(powers) - 1:
        raise ValueError(f"components must be in 1..{len(powers) - 1}, got {components}")
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    to_db = 10.0 / np.log(10.0)
    dev = to_db * (np.log(np.maximum(np.asarray(powers, dtype=np.float64), LOG_FLOOR))
                   - np.log(np.maximum(reference, LOG_FLOOR)))
    band = (freqs >= SPREAD_ALIGN_HZ[0]) & (freqs < SPREAD_ALIGN_HZ[1])
    dev -= dev[:, band].mean(axis=1, keepdims=True)
    names = np.asarray(sources)
    counts = {name: int(np.sum(names == name)) for name in set(sources)}
    weight = np.array([1.0 / (counts[name] * len(counts)) for name in sources])
    dev -= weight @ dev
    _, singular, rows = np.linalg.svd(np.sqrt(weight)[:, None] * dev, full_matrices=False)
    return singular[:components, None] * rows[:components]


def source_table(powers: list[np.ndarray], sources: list[str], reference: np.ndarray, sample_rate: int,
                 n_fft: int) -> dict[str, list[float | None]]:
    """Octave-band levels (dB re each curve's 500 Hz–1 kHz, 62.5 Hz–8 kHz) per source and of the result;
    None for a band with no bin below Nyquist."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    curves = {**source_log_means(powers, sources), "reference": np.log(np.maximum(reference, LOG_FLOOR))}
    inside = [(freqs >= lo) & (freqs < 2 * lo) for lo in OCTAVES_HZ]
    table: dict[str, list[float | None]] = {}
    for name, curve in curves.items():
        db = 10.0 * curve / np.log(10.0)
        mid = db[(freqs >= 500.0) & (freqs < 1000.0)].mean()
        table[name] = [round(float(db[band].mean() - mid), 1) if band.any() else None for band in inside]
    return table


def plot_sources(path: Path, table: dict[str, list[float | None]]) -> None:
    """The octave-band table as curves: each source and the reference (bands beyond Nyquist left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, levels in table.items():
        points = [(lo * np.sqrt(2), v) for lo, v in zip(OCTAVES_HZ, levels, strict=True) if v is not None]
        ax.semilogx(*zip(*points, strict=True), marker="o", label=name,
                    linewidth=3 if name == "reference" else 1.2, color="k" if name == "reference" else None)
    ax.set_xlabel("octave band centre (Hz)")
    ax.set_ylabel("dB re 500 Hz–1 kHz")
    ax.set_title("Reference LTAS: each source's geometric mean, and the result")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("piano", "voice"), required=True)
    parser.add_argument("--out", type=Path, required=True,
                        help="LTAS JSON to write (with provenance, and each source's LTAS under 'sources')")
    parser.add_argument("--bundle", type=Path, action="append", default=[],
                        help="bundle folder whose ltas.json is replaced (repeatable)")
    parser.add_argument("--from-dir", type=Path, action="append", default=[],
                        help="use the clips of a make_training_data output folder instead of rendering")
    parser.add_argument("--from-sources", type=Path,
                        help="take the reference and each source's LTAS from an earlier --out file (its "
                        "power kept as it is) and add their spread; no clips are read")
    parser.add_argument("--source-note", default="",
                        help="with --from-dir: how the folder's clips were made (kept in the provenance)")
    parser.add_argument("--exclude-composer", action="append", default=[],
                        help="with --from-dir: leave these composers out (e.g. the evaluation's)")
    parser.add_argument("--soundfont", type=Path, action="append", default=None,
                        help=f"soundfont(s) (default: {', '.join(SOUNDFONTS)})")
    parser.add_argument("--composer", action="append", default=None,
                        help=f"music21 corpus composer(s) for piano (default: {', '.join(PIANO_COMPOSERS)})")
    parser.add_argument("--clips", type=int, default=36, help="clips per soundfont")
    parser.add_argument("--clip-seconds", type=float, default=10.0)
    parser.add_argument("--sample-rate", type=int, default=22050)
    parser.add_argument("--n-fft", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shape-components", type=int, default=8,
                        help="principal directions of the clips' departures from the reference to store "
                        "(the chain fit's instrument-shape prior; 0: none)")
    parser.add_argument("--plot", type=Path, help="PNG of each source's octave-band levels and the result")
    args = parser.parse_args(argv)
    command = "scripts/build_reference_ltas.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    if args.from_sources:
        return from_sources(args, command)
    soundfonts = [Path(p) for p in (args.soundfont or SOUNDFONTS)]
    composers = list(args.composer or (PIANO_COMPOSERS if args.kind == "piano" else ("bach",)))
    if args.from_dir:
        audio, info = [], []
        for folder in args.from_dir:
            clips, meta = clips_from_dir(folder, args.sample_rate, args.exclude_composer)
            audio += clips
            info += meta
        composers = sorted({i["composer"] for i in info})
        soundfonts = [Path(f) for f in sorted({i.get("soundfont") or "?" for i in info})]
        check_not_heldout(args.kind, soundfonts, composers)
    else:
        check_not_heldout(args.kind, soundfonts, composers)
        audio, info = render_clips(args.kind, soundfonts, composers, args.clips, args.clip_seconds,
                                   args.sample_rate, args.seed)
    powers = [compute_ltas(a, args.sample_rate, args.n_fft).power for a in audio]
    sources = [i.get("soundfont") or "?" for i in info]
    power = source_mean_power(powers, sources)
    table = source_table(powers, sources, power, args.sample_rate, args.n_fft)
    log_means = source_log_means(powers, sources)
    components = min(args.shape_components, len(powers) - 1)
    basis = (source_shape_basis(powers, sources, power, args.sample_rate, args.n_fft, components)
             if components > 0 else None)
    ltas = Ltas(sample_rate=args.sample_rate, n_fft=args.n_fft, power=power,
                spread_db=source_spread_db(log_means, args.sample_rate, args.n_fft), shape_basis_db=basis)
    scores = sorted({i["score"].split("/corpus/")[-1] for i in info})
    seconds = sum(a.shape[-1] for a in audio) / args.sample_rate
    counts = {f: sum(1 for i in info if (i.get("soundfont") or "?") == f) for f in sorted(
        {i.get("soundfont") or "?" for i in info})}
    provenance = (f"geometric mean over sources ({', '.join(f'{f}: {n} clips' for f, n in counts.items())}) "
                  f"of each source's geometric-mean LTAS (unit-std clips, n_fft {args.n_fft}); "
                  f"{len(audio)} clips "
                  f"({seconds / 60:.1f} min), "
                  f"{len(scores)} works by {', '.join(composers)}, rendered with "
                  f"{', '.join(f.name for f in soundfonts)}"
                  f"{'; ' + args.source_note if args.source_note else ''}"
                  f"{f'; {components} shape directions of the clips' if basis is not None else ''}"
                  f" ({command})")
    per_source = {name: np.exp(curve).tolist() for name, curve in log_means.items()}
    return write_outputs(args, ltas, provenance, {"clips": info, "octave_bands_hz": list(OCTAVES_HZ),
                                                  "octave_levels_db": table, "sources": per_source})


def from_sources(args: argparse.Namespace, command: str) -> int:
    """The --from-sources path: an earlier output's reference, with its sources' spread added."""
    try:
        data = json.loads(args.from_sources.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        sys.exit(f"build_reference_ltas: cannot read {args.from_sources}: {exc}")
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict) or len(data["sources"]) < 2:
        sys.exit(f"build_reference_ltas: {args.from_sources} has no per-source LTAS ('sources', two or more)")
    base = Ltas.from_json_dict(data)
    log_means = {name: np.log(np.maximum(np.asarray(power, dtype=np.float64), LOG_FLOOR))
                 for name, power in sorted(data["sources"].items())}
    ltas = Ltas(sample_rate=base.sample_rate, n_fft=base.n_fft, power=base.power,
                stored_scale=base.stored_scale,
                spread_db=source_spread_db(log_means, base.sample_rate, base.n_fft))
    provenance = f"{data.get('provenance', '')}; between-source spread per bin added ({command})"
    extra = {k: data[k] for k in ("clips", "octave_bands_hz", "octave_levels_db", "sources") if k in data}
    return write_outputs(args, ltas, provenance, extra)


def write_outputs(args: argparse.Namespace, ltas: Ltas, provenance: str, extra: dict[str, Any]) -> int:
    """Write --out (the LTAS, its provenance and ``extra``), the plot, and every --bundle's ltas.json."""
    table = extra.get("octave_levels_db", {})
    atomic_write_json(args.out, {**ltas.to_json_dict(), "provenance": provenance, **extra})
    print(f"build_reference_ltas: {provenance}")
    for name, levels in table.items():
        print(f"build_reference_ltas: {name:28s} " + " ".join("     —" if v is None else f"{v:+6.1f}"
                                                             for v in levels))
    if ltas.spread_db is not None:
        at = (125, 250, 500, 1000, 2000, 4000, 8000)
        levels = np.interp(at, ltas.freqs_hz, ltas.spread_db)
        print("build_reference_ltas: spread between sources (dB) at 125 Hz … 8 kHz: "
              + " ".join(f"{v:.1f}" for v in levels))
    if args.plot:
        plot_sources(args.plot, table)
    for bundle_dir in args.bundle:
        bundle = load_bundle(bundle_dir)
        if bundle.config.sample_rate != ltas.sample_rate:
            sys.exit(f"build_reference_ltas: {bundle_dir} runs at {bundle.config.sample_rate} Hz, "
                     f"the LTAS is at {ltas.sample_rate} Hz")
        card = bundle.card.model_copy(update={"reference_ltas": provenance})
        save_bundle(bundle_dir, bundle.network, bundle.config, card, ltas, overwrite=True)
        print(f"build_reference_ltas: {bundle_dir}/ltas.json replaced; checksum "
              f"{load_bundle(bundle_dir).checksum[:12]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
