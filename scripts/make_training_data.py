"""Render offline training material: piano from corpus scores (FluidSynth) or sung chorale melodies.

Scores come from the music21 corpus, leaving out every score that
scripts/make_demo.py uses for the demo collection and its references, so
models are never evaluated on music they were trained on. Held-out material
(catalogs/heldout.toml: soundfonts by file name, works by corpus composer folder)
is refused for training; ``--split validation`` renders only the held-out
``validation`` works (by default with the held-out soundfont), for validation-loss
curves. Writes, under --out:

    <kind>-<nnnnn>.flac    clips of --clip-seconds at --sample-rate (--bits: 24 or 16, mono)
    manifest.json          per clip: sha256, bytes, score, tempo, transposition, settings

Kinds: piano (GM piano from one of several soundfonts, default FluidR3 and TimGM6mb, or
from a folder of recorded per-note samples (scripts/fetch_piano_samples.sh fetches the
Salamander Grand Piano), played by shellac.lab.synthesis.sampler;
varied tempo, velocity, transposition, sustain pedal and a light synthetic room; RMS
around -24 dBFS as BABE-2's raw-amplitude piano model expects); tenor / soprano
(chorale tenor / soprano lines sung by shellac.lab.synthesis, male formants
C3–A4 / female formants C4–C6); voice (both, alternating at random).
Reruns are idempotent: clips whose manifest entry still matches are kept.

Run: ``.venv/bin/python scripts/make_training_data.py --out data/piano --kind piano --minutes 60``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_demo  # noqa: E402  (scripts/ is not a package; reuse its score helpers)

from shellac.engine.atomic import atomic_write_json  # noqa: E402
from shellac.engine.audio_io import write_audio  # noqa: E402
from shellac.lab.synthesis import render_melody  # noqa: E402
from shellac.lab.synthesis.singers import VOICE_RANGES, random_singer, sung_notes  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
HELDOUT_TOML = REPO / "catalogs" / "heldout.toml"
SCHEMA_VERSION = 2
KINDS = ("piano", "voice", "tenor", "soprano")
SPLITS = ("train", "validation")
# Training composers (corpus folders) and their share of clips: polyphonic keyboard and
# chamber music first, vocal polyphony and single-line tunes (played an octave apart) for variety.
PIANO_COMPOSERS = {"bach": 1.0, "beethoven": 1.0, "mozart": 1.0, "haydn": 1.0, "palestrina": 0.7,
                   "trecento": 0.4, "ryansMammoth": 0.4}
DEFAULT_PIANO_SOUNDFONTS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
                            Path("/usr/share/sounds/sf2/TimGM6mb.sf2"))
VALIDATION_SOUNDFONT = Path("/usr/share/sounds/sf3/MuseScore_General_Full.sf3")

PIANO_RMS_DBFS = -24.0  # σ_data 0.063 of BABE-2's piano model is -24 dBFS
VOICE_PEAK_DBFS = -3.0


class HeldOutMaterialError(ValueError):
    """Training was asked to use a soundfont or work that catalogs/heldout.toml holds out."""


@dataclass(frozen=True)
class HeldOut:
    """One family's held-out material (catalogs/heldout.toml): soundfont file names and composer folders."""

    soundfonts: frozenset[str]
    validation: tuple[str, ...]
    benchmark: tuple[str, ...]

    @property
    def composers(self) -> frozenset[str]:
        """Every held-out composer folder (validation and benchmark)."""
        return frozenset(self.validation) | frozenset(self.benchmark)


def family_of(kind: str) -> str:
    """Held-out section a kind belongs to: "piano" or "voice"."""
    return "piano" if kind == "piano" else "voice"


def load_heldout(family: str, path: Path = HELDOUT_TOML) -> HeldOut:
    """Read one family's section of the held-out list; a missing file or section is an error, not a pass."""
    with open(path, "rb") as fh:
        table = tomllib.load(fh)[family]
    return HeldOut(frozenset(table.get("soundfonts", [])), tuple(table.get("validation", [])),
                   tuple(table.get("benchmark", [])))


def corpus_composer(path: str | Path) -> str:
    """Composer folder of a music21 corpus file (the folder right under ``corpus/``)."""
    parts = Path(path).parts
    if "corpus" not in parts:
        return Path(path).parent.name
    index = len(parts) - 1 - parts[::-1].index("corpus")
    return parts[index + 1] if index + 2 < len(parts) else Path(path).parent.name


def check_training_material(heldout: HeldOut, soundfonts: list[Path], scores: list[str]) -> None:
    """Refuse held-out soundfonts (by file name) and held-out works (by composer folder) for training.

    Raises
    ------
    HeldOutMaterialError
        Naming every offending soundfont or score.
    """
    # Resolved too: Debian's MuseScore_General.sf3 and default-GM.sf3 are links to the held-out font.
    bad_fonts = sorted(p.name for p in soundfonts if {p.name, p.resolve().name} & heldout.soundfonts)
    bad_scores = sorted(s for s in scores if corpus_composer(s) in heldout.composers)
    if bad_fonts or bad_scores:
        raise HeldOutMaterialError(
            "refusing to render training material from held-out "
            + "; ".join(filter(None, [f"soundfont(s) {', '.join(bad_fonts)}" if bad_fonts else "",
                                      f"work(s) {', '.join(bad_scores[:5])}" if bad_scores else ""]))
            + f" (listed in {HELDOUT_TOML.relative_to(REPO)}); use --split validation for validation audio"
        )


def demo_scores() -> tuple[str, ...]:
    """Corpus scores used by the demo collection (masters and references): never trained on."""
    return tuple(sorted({s.piece.score for s in (*make_demo.MASTERS, *make_demo.REFERENCES)}))


def is_excluded(path: Path, excluded: tuple[str, ...]) -> bool:
    """True if a corpus file is one of ``excluded`` (or lies in its work's folder, e.g. mozart/k545/)."""
    stem = path.with_suffix("").as_posix()
    for score in excluded:
        work = score.rsplit("/", 1)[0] if score.count("/") >= 2 else score
        if stem.endswith("/" + score) or f"/{work}/" in stem + "/":
            return True
    return False


def composers_for(kind: str, split: str, heldout: HeldOut) -> tuple[str, ...]:
    """Corpus composer folders to draw from: the training set, or the held-out validation works."""
    if split == "validation":
        return heldout.validation
    return tuple(PIANO_COMPOSERS) if kind == "piano" else ("bach",)


def score_pool(kind: str, split: str = "train", heldout: HeldOut | None = None) -> list[str]:
    """Corpus file paths to draw from (demo scores left out; training pools checked against held-out)."""
    from music21 import corpus

    heldout = heldout or load_heldout(family_of(kind))
    excluded = demo_scores()
    paths = [Path(str(p)) for c in composers_for(kind, split, heldout) for p in corpus.getComposer(c)]
    if kind != "piano" and split == "train":
        paths = [p for p in paths if p.name.startswith("bwv") and p.suffix in (".mxl", ".xml", ".krn")]
    pool = sorted(str(p) for p in paths if not is_excluded(p, excluded))
    if split == "train":
        check_training_material(heldout, [], pool)
    return pool


def config_key(args: argparse.Namespace, soundfonts: list[Path]) -> str:
    """Hash of what decides each clip (not --minutes: more minutes reuse the clips already made)."""
    digest = hashlib.sha256()
    spec = {"schema": SCHEMA_VERSION, "kind": args.kind, "seed": args.seed, "sr": args.sample_rate,
            "clip_s": args.clip_seconds, "choir": args.choir_fraction, "split": args.split,
            "room": args.room_fraction, "pedal": args.pedal_fraction, "bits": args.bits}
    digest.update(json.dumps(spec, sort_keys=True).encode())
    for soundfont in soundfonts:
        # A folder of per-note samples counts by its files' names and sizes.
        members = sorted(soundfont.iterdir()) if soundfont.is_dir() else [soundfont]
        digest.update(soundfont.name.encode())
        for member in members:
            digest.update(f"{member.name}:{member.stat().st_size}".encode())
    code = sorted((REPO / "shellac/lab/synthesis").glob("*.py"))
    for path in (Path(__file__), Path(make_demo.__file__), *code):
        digest.update(path.resolve().read_bytes())
    return digest.hexdigest()


def _parse(path: str, cache: dict[str, Any], rng: np.random.Generator, *, voices: bool = False) -> Any:
    """A parsed score; from a collection (an abc book, a music21 Opus) one of its tunes at random.

    With ``voices``, an Opus is one piece written one voice per tune (the josquin files): its tunes'
    parts, in order, make the score's parts.
    """
    from music21 import corpus, stream

    if path not in cache:
        cache[path] = corpus.parse(path)
    parsed = cache[path]
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        if voices:
            merged = stream.Score()
            for part in (part for score in scores for part in score.parts):
                merged.insert(0, copy.deepcopy(part))
            return merged
        return scores[int(rng.integers(len(scores)))] if scores else stream.Score()
    return parsed


def room_response(rng: np.random.Generator, sr: int) -> tuple[np.ndarray, dict[str, float]]:
    """A light synthetic room: pre-delay, then exponentially decaying, darkening noise (RT60 0.2–0.9 s)."""
    from scipy.signal import lfilter

    rt60 = float(rng.uniform(0.2, 0.9))
    predelay = float(rng.uniform(0.005, 0.025))
    drr_db = float(rng.uniform(6.0, 16.0))  # direct-to-reverberant ratio: a light room
    n = int(rt60 * sr)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * 10.0 ** (-3.0 * t / rt60)
    pole = float(rng.uniform(0.3, 0.8))  # high frequencies decay faster in real rooms
    tail = lfilter([1.0 - pole], [1.0, -pole], tail)
    tail *= 10.0 ** (-drr_db / 20.0) / np.sqrt(np.sum(tail**2))
    ir = np.zeros(int(predelay * sr) + n)
    ir[0] = 1.0
    ir[int(predelay * sr):] += tail
    return ir, {"rt60_s": round(rt60, 3), "drr_db": round(drr_db, 2), "damping_pole": round(pole, 3)}


def add_pedal(instrument: Any, rng: np.random.Generator, duration_s: float) -> None:
    """Sustain pedal (CC 64): held for 0.8–2.5 s stretches, lifted briefly between them."""
    import pretty_midi

    t = float(rng.uniform(0.0, 1.0))
    while t < duration_s:
        hold = float(rng.uniform(0.8, 2.5))
        instrument.control_changes.append(pretty_midi.ControlChange(64, 127, t))
        instrument.control_changes.append(pretty_midi.ControlChange(64, 0, min(t + hold, duration_s)))
        t += hold + float(rng.uniform(0.05, 0.6))


def render_piano(rng: np.random.Generator, pool: list[str], tools: list[make_demo.Tools], sr: int,
                 clip_s: float, cache: dict[str, Any], workdir: Path, room_fraction: float,
                 pedal_fraction: float) -> tuple[np.ndarray, dict[str, Any]]:
    """One piano clip: random soundfont, score, start, tempo, transposition, dynamics, pedal and room."""
    # Composer shares from PIANO_COMPOSERS: Bach's 400 chorales would otherwise drown the rest.
    composer = [corpus_composer(p) for p in pool]
    counts = {c: composer.count(c) for c in set(composer)}
    weights = np.array([PIANO_COMPOSERS.get(c, 1.0) / counts[c] for c in composer])
    for _ in range(20):
        path = pool[int(rng.choice(len(pool), p=weights / weights.sum()))]
        score = _parse(path, cache, rng)
        if not score.parts or float(score.highestTime) < 8.0:
            continue
        font = tools[int(rng.integers(len(tools)))]
        start = float(rng.uniform(0.0, max(0.0, float(score.highestTime) - 16.0)))
        tempo = float(rng.uniform(50.0, 160.0))
        transpose = int(rng.integers(-5, 6))
        velocity_scale = float(rng.uniform(0.5, 1.4))
        piece = make_demo.Piece(path, None, tuple(range(len(score.parts))), round(start, 2), clip_s, tempo)
        midi = make_demo.piece_to_midi(piece, piece.accomp_parts, make_demo.PIANO, False, rng, {path: score})
        notes = midi.instruments[0].notes
        if len(notes) < 8:
            continue
        # Single-line tunes get an octave below, as a pianist would play them.
        octave = len(score.parts) == 1
        for note in list(notes):
            note.pitch = int(np.clip(note.pitch + transpose, 21, 108))
            note.velocity = int(np.clip(note.velocity * velocity_scale, 15, 127))
            if octave:
                notes.append(type(note)(max(15, note.velocity - 15), max(21, note.pitch - 12), note.start,
                                        note.end))
        pedal = bool(rng.random() < pedal_fraction)
        if pedal:
            add_pedal(midi.instruments[0], rng, clip_s)
        audio = make_demo.render(midi, font, sr, clip_s, workdir)
        room: dict[str, float] = {}
        if rng.random() < room_fraction:
            from scipy.signal import fftconvolve

            ir, room = room_response(rng, sr)
            audio = fftconvolve(audio, ir)[: audio.size]
        rms = float(np.sqrt(np.mean(audio**2)))
        if rms == 0.0:
            continue
        level_db = PIANO_RMS_DBFS + float(rng.uniform(-4.0, 4.0))
        audio = audio * (10.0 ** (level_db / 20.0) / rms)
        audio = audio * min(1.0, 0.99 / float(np.max(np.abs(audio))))
        return audio, {"score": path, "composer": corpus_composer(path), "soundfont": font.soundfont.name,
                       "start_ql": round(start, 2), "tempo_bpm": round(tempo, 1), "transpose": transpose,
                       "velocity_scale": round(velocity_scale, 3), "octave_doubled": octave,
                       "pedal": pedal, "room": room, "rms_dbfs": round(level_db, 2)}
    raise RuntimeError("make_training_data: 20 scores in a row gave no usable piano clip")


def _fit_range(pitches: list[int], part: str, rng: np.random.Generator) -> int:
    """Transposition (semitones) putting a melody inside the voice's range, randomly within the slack."""
    lo, hi = VOICE_RANGES[part]
    low_t, high_t = lo - min(pitches), hi - max(pitches)
    if low_t > high_t:  # wider than the range: centre it
        return int(round((low_t + high_t) / 2))
    return int(rng.integers(low_t, high_t + 1))


def render_voice(rng: np.random.Generator, part: str, pool: list[str], sr: int, clip_s: float,
                 cache: dict[str, Any], tools: make_demo.Tools | None, choir_fraction: float,
                 workdir: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """One sung clip: a chorale's tenor or soprano line, synthesised (or, sometimes, GM choir)."""
    for _ in range(20):
        path = pool[int(rng.integers(len(pool)))]
        score = _parse(path, cache, rng, voices=True)
        if len(score.parts) < 3:
            continue
        # Soprano on top; tenor second from the bottom (SATB's part 2).
        part_index = 0 if part == "soprano" else len(score.parts) - 2
        tempo = float(rng.uniform(50.0, 100.0))
        start = 0.0
        raw = [n for n in make_demo.part_notes(score.parts[part_index], 0)]
        if len(raw) < 8:
            continue
        transpose = _fit_range([p for _, _, p in raw], part, rng)
        if tools is not None and rng.random() < choir_fraction:
            piece = make_demo.Piece(path, part_index, (), start, clip_s, tempo, voice_transpose=transpose)
            midi = make_demo.piece_to_midi(piece, (part_index,), make_demo.CHOIR_AAHS, True, rng,
                                           {path: score})
            audio = make_demo.render(midi, tools, sr, clip_s, workdir)
            settings: dict[str, Any] = {"renderer": "fluidsynth GM choir aahs"}
        else:
            to_s = make_demo.seconds_map(start, float(score.highestTime), tempo, rng)
            spans = []
            for off, length, pitch in raw:
                begin = float(to_s(off))
                if begin >= clip_s - 0.3:
                    break
                spans.append((begin, min(float(to_s(off + length)), clip_s - 0.3), pitch + transpose))
            if not spans:  # the line's first note falls after the clip's end (a long opening rest)
                continue
            notes = sung_notes(spans, rng)
            voice = random_singer(part, rng)
            audio = render_melody(notes, voice, sample_rate=sr, seed=int(rng.integers(2**31)), tail_s=0.0)
            audio = np.pad(audio, (0, max(0, int(clip_s * sr) - audio.size)))[: int(clip_s * sr)]
            settings = {"renderer": "shellac.lab.synthesis",
                        "vibrato_rate_hz": round(voice.vibrato_rate_hz, 3),
                        "vibrato_cents": round(voice.vibrato_cents, 1), "breath": round(voice.breath, 3)}
        peak = float(np.max(np.abs(audio)))
        if peak == 0.0:
            continue
        audio = audio * (10.0 ** (VOICE_PEAK_DBFS / 20.0) / peak)
        return audio, {"score": path, "part": part, "tempo_bpm": round(tempo, 1), "transpose": transpose,
                       **settings}
    raise RuntimeError("make_training_data: 20 chorales in a row gave no usable melody")


def soundfonts_for(args: argparse.Namespace, heldout: HeldOut) -> list[Path]:
    """Soundfonts: --soundfont (repeatable) or the split's default; held-out ones refused for training."""
    if args.soundfont:
        fonts = list(args.soundfont)
    elif args.split == "validation":
        fonts = [VALIDATION_SOUNDFONT]
    else:
        fonts = [p for p in DEFAULT_PIANO_SOUNDFONTS if p.is_file()] or [make_demo.SYSTEM_SOUNDFONT]
    if args.split == "train":
        check_training_material(heldout, fonts, [])
    return fonts


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--split", choices=SPLITS, default="train",
                        help="train (held-out material refused) or validation (held-out validation works)")
    parser.add_argument("--minutes", type=float, default=10.0, help="total duration to render")
    parser.add_argument("--sample-rate", type=int, help="Hz (default 22050 piano, 44100 voices)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clip-seconds", type=float, default=20.0, help="length of each clip")
    parser.add_argument("--choir-fraction", type=float, default=0.0,
                        help="voices only: fraction of clips rendered as GM 'choir aahs' by FluidSynth")
    parser.add_argument("--room-fraction", type=float, default=0.5,
                        help="piano only: fraction of clips given a light synthetic room response")
    parser.add_argument("--pedal-fraction", type=float, default=0.5,
                        help="piano only: fraction of clips played with sustain pedal")
    parser.add_argument("--soundfont", type=Path, action="append", default=None,
                        help="General MIDI .sf2/.sf3 or a folder of per-note piano samples, repeatable: "
                             "each clip picks one at random "
                             "(default FluidR3 + TimGM6mb; MuseScore General Full for --split validation)")
    parser.add_argument("--bits", type=int, choices=(16, 24), default=24,
                        help="FLAC sample size (16 halves what a GPU machine must be sent; default 24)")
    parser.add_argument("--force", action="store_true", help="re-render every clip")
    args = parser.parse_args(argv)
    args.sample_rate = args.sample_rate or (22050 if args.kind == "piano" else 44100)
    heldout = load_heldout(family_of(args.kind))

    needs_fluidsynth = args.kind == "piano" or args.choir_fraction > 0
    try:
        fonts = soundfonts_for(args, heldout) if needs_fluidsynth else []
        pool = score_pool(args.kind, args.split, heldout)
    except HeldOutMaterialError as exc:
        parser.exit(2, f"make_training_data: {exc}\n")
    tools = [make_demo.find_tools(font) for font in fonts]
    key = config_key(args, [t.soundfont for t in tools])
    out: Path = args.out
    manifest_path = out / "manifest.json"
    old: dict[str, Any] = {}
    if manifest_path.is_file() and not args.force:
        previous = json.loads(manifest_path.read_text())
        if previous.get("config_sha256") == key:
            old = previous.get("files", {})
    count = math.ceil(args.minutes * 60.0 / args.clip_seconds)
    files: dict[str, Any] = {}
    cache: dict[str, Any] = {}
    started, made = time.perf_counter(), 0
    with tempfile.TemporaryDirectory(prefix="shellac-train-data-") as tmp:
        for index in range(count):
            name = f"{args.kind}-{index:05d}.flac"
            path = out / name
            entry = old.get(name)
            if entry and path.is_file() and make_demo.sha256_file(path) == entry["sha256"]:
                files[name] = entry
                continue
            rng = np.random.default_rng([args.seed, index])
            if args.kind == "piano":
                audio, info = render_piano(rng, pool, tools, args.sample_rate, args.clip_seconds, cache,
                                           Path(tmp), args.room_fraction, args.pedal_fraction)
            else:
                part = args.kind if args.kind != "voice" else str(rng.choice(("tenor", "soprano")))
                audio, info = render_voice(rng, part, pool, args.sample_rate, args.clip_seconds, cache,
                                           tools[0] if tools else None, args.choir_fraction, Path(tmp))
            write_audio(path, audio, args.sample_rate, bit_depth=args.bits)
            files[name] = {"sha256": make_demo.sha256_file(path), "bytes": path.stat().st_size,
                           "seed": [args.seed, index], **info}
            made += 1
            print(f"make_training_data: {name} ({info['score'].rsplit('/', 2)[-1]})", flush=True)
            if made % 10 == 0:  # a partial manifest, so an interrupted run keeps its clips
                _write_manifest(manifest_path, args, key, tools, files, len(files))
    _write_manifest(manifest_path, args, key, tools, files, count)
    print(f"make_training_data: {made} clip(s) rendered, {count - made} kept, {count} in {out} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


def _write_manifest(path: Path, args: argparse.Namespace, key: str, tools: list[make_demo.Tools],
                    files: dict[str, Any], count: int) -> None:
    works = sorted({f["score"] for f in files.values()})
    atomic_write_json(path, {
        "schema_version": SCHEMA_VERSION, "generator": "scripts/make_training_data.py", "kind": args.kind,
        "split": args.split, "seed": args.seed, "sample_rate": args.sample_rate, "bits": args.bits,
        "clip_seconds": args.clip_seconds, "minutes": round(count * args.clip_seconds / 60.0, 3),
        "excluded_scores": list(demo_scores()), "heldout": str(HELDOUT_TOML.relative_to(REPO)),
        "soundfonts": [t.soundfont.name for t in tools], "works": len(works),
        "composers": sorted({corpus_composer(w) for w in works}), "config_sha256": key, "files": files,
    })


if __name__ == "__main__":
    raise SystemExit(main())
