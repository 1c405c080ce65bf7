"""Render offline training material: piano from corpus scores (FluidSynth) or sung chorale melodies.

Scores come from the music21 corpus, leaving out every score that
scripts/make_demo.py uses for the demo collection and its references, so
models are never evaluated on music they were trained on. Writes, under --out:

    <kind>-<nnnnn>.flac    clips of --clip-seconds at --sample-rate (24-bit, mono)
    manifest.json          per clip: sha256, bytes, score, tempo, transposition, settings

Kinds: piano (FluidR3 GM piano, varied tempo, velocity and transposition, RMS
around -24 dBFS as BABE-2's raw-amplitude piano model expects); tenor / soprano
(chorale tenor / soprano lines sung by shellac.engine.synthesis, male formants
C3–A4 / female formants C4–C6); voice (both, alternating at random).
Reruns are idempotent: clips whose manifest entry still matches are kept.

Run: ``.venv/bin/python scripts/make_training_data.py --out data/piano --kind piano --minutes 60``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_demo  # noqa: E402  (scripts/ is not a package; reuse its score helpers)

from shellac.engine.atomic import atomic_write_json  # noqa: E402
from shellac.engine.audio_io import write_audio  # noqa: E402
from shellac.engine.synthesis import VOWELS, SungNote, Voice, render_melody  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCHEMA_VERSION = 1
KINDS = ("piano", "voice", "tenor", "soprano")
PIANO_COMPOSERS = ("bach", "mozart", "beethoven", "haydn")
RANGES = {"tenor": (48, 69), "soprano": (60, 84)}  # MIDI C3–A4, C4–C6
PIANO_RMS_DBFS = -24.0  # σ_data 0.063 of BABE-2's piano model is -24 dBFS
VOICE_PEAK_DBFS = -3.0


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


def score_pool(kind: str) -> list[str]:
    """Corpus file paths to draw from: keyboard-friendly works for piano, Bach chorales for voices."""
    from music21 import corpus

    excluded = demo_scores()
    composers = PIANO_COMPOSERS if kind == "piano" else ("bach",)
    paths = [Path(str(p)) for c in composers for p in corpus.getComposer(c)]
    if kind != "piano":
        paths = [p for p in paths if p.name.startswith("bwv") and p.suffix in (".mxl", ".xml", ".krn")]
    return sorted(str(p) for p in paths if not is_excluded(p, excluded))


def config_key(args: argparse.Namespace, soundfont: Path | None) -> str:
    """Hash of what decides each clip (not --minutes: more minutes reuse the clips already made)."""
    digest = hashlib.sha256()
    spec = {"schema": SCHEMA_VERSION, "kind": args.kind, "seed": args.seed, "sr": args.sample_rate,
            "clip_s": args.clip_seconds, "choir": args.choir_fraction}
    digest.update(json.dumps(spec, sort_keys=True).encode())
    if soundfont is not None:
        digest.update(f"{soundfont.name}:{soundfont.stat().st_size}".encode())
    code = sorted((REPO / "shellac/engine/synthesis").glob("*.py"))
    for path in (Path(__file__), Path(make_demo.__file__), *code):
        digest.update(path.resolve().read_bytes())
    return digest.hexdigest()


def _parse(path: str, cache: dict[str, Any]) -> Any:
    from music21 import corpus

    if path not in cache:
        cache[path] = corpus.parse(path)
    return cache[path]


def render_piano(rng: np.random.Generator, pool: list[str], tools: make_demo.Tools, sr: int, clip_s: float,
                 cache: dict[str, Any], workdir: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """One piano clip: random score, start, tempo, transposition and dynamics."""
    # Each composer equally likely: Bach's 400 chorales would otherwise drown the rest.
    composer = [Path(p).parent.name if Path(p).parent.name in PIANO_COMPOSERS else Path(p).parts[-3]
                for p in pool]
    counts = {c: composer.count(c) for c in set(composer)}
    weights = np.array([1.0 / counts[c] for c in composer])
    for _ in range(20):
        path = pool[int(rng.choice(len(pool), p=weights / weights.sum()))]
        score = _parse(path, cache)
        if not score.parts or float(score.highestTime) < 8.0:
            continue
        start = float(rng.uniform(0.0, max(0.0, float(score.highestTime) - 16.0)))
        tempo = float(rng.uniform(60.0, 150.0))
        transpose = int(rng.integers(-5, 6))
        velocity_scale = float(rng.uniform(0.7, 1.3))
        piece = make_demo.Piece(path, None, tuple(range(len(score.parts))), round(start, 2), clip_s, tempo)
        midi = make_demo.piece_to_midi(piece, piece.accomp_parts, make_demo.PIANO, False, rng, {path: score})
        notes = midi.instruments[0].notes
        if len(notes) < 8:
            continue
        for note in notes:
            note.pitch = int(np.clip(note.pitch + transpose, 21, 108))
            note.velocity = int(np.clip(note.velocity * velocity_scale, 20, 127))
        audio = make_demo.render(midi, tools, sr, clip_s, workdir)
        rms = float(np.sqrt(np.mean(audio**2)))
        if rms == 0.0:
            continue
        level_db = PIANO_RMS_DBFS + float(rng.uniform(-4.0, 4.0))
        audio = audio * (10.0 ** (level_db / 20.0) / rms)
        audio = audio * min(1.0, 0.99 / float(np.max(np.abs(audio))))
        return audio, {"score": path, "start_ql": round(start, 2), "tempo_bpm": round(tempo, 1),
                       "transpose": transpose, "velocity_scale": round(velocity_scale, 3),
                       "rms_dbfs": round(level_db, 2)}
    raise RuntimeError("make_training_data: 20 scores in a row gave no usable piano clip")


def _fit_range(pitches: list[int], part: str, rng: np.random.Generator) -> int:
    """Transposition (semitones) putting a melody inside the voice's range, randomly within the slack."""
    lo, hi = RANGES[part]
    low_t, high_t = lo - min(pitches), hi - max(pitches)
    if low_t > high_t:  # wider than the range: centre it
        return int(round((low_t + high_t) / 2))
    return int(rng.integers(low_t, high_t + 1))


def render_voice(rng: np.random.Generator, part: str, pool: list[str], sr: int, clip_s: float,
                 cache: dict[str, Any], tools: make_demo.Tools | None, choir_fraction: float,
                 workdir: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """One sung clip: a chorale's tenor or soprano line, synthesised (or, sometimes, GM choir)."""
    part_index = 0 if part == "soprano" else 2
    for _ in range(20):
        path = pool[int(rng.integers(len(pool)))]
        score = _parse(path, cache)
        if len(score.parts) < 4:
            continue
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
            vowel = str(rng.choice(VOWELS))
            notes = []
            for off, length, pitch in raw:
                begin = float(to_s(off))
                if begin >= clip_s - 0.3:
                    break
                if rng.random() < 0.4:
                    vowel = str(rng.choice(VOWELS))
                end = min(float(to_s(off + length)), clip_s - 0.3)
                notes.append(SungNote(begin, max(end - begin, 0.08), pitch + transpose, vowel,
                                      float(np.clip(rng.normal(0.75, 0.1), 0.3, 1.0))))
            voice = Voice(
                formant_set="female" if part == "soprano" else "male",
                vibrato_rate_hz=float(rng.uniform(5.0, 6.0)),
                vibrato_cents=float(rng.uniform(30.0, 60.0)),
                breath=float(rng.uniform(0.01, 0.06)),
                jitter=float(rng.uniform(0.002, 0.008)),
                shimmer=float(rng.uniform(0.02, 0.06)),
                formant_tuning=part == "soprano",
            )
            audio = render_melody(notes, voice, sample_rate=sr, seed=int(rng.integers(2**31)), tail_s=0.0)
            audio = np.pad(audio, (0, max(0, int(clip_s * sr) - audio.size)))[: int(clip_s * sr)]
            settings = {"renderer": "shellac.engine.synthesis",
                        "vibrato_rate_hz": round(voice.vibrato_rate_hz, 3),
                        "vibrato_cents": round(voice.vibrato_cents, 1), "breath": round(voice.breath, 3)}
        peak = float(np.max(np.abs(audio)))
        if peak == 0.0:
            continue
        audio = audio * (10.0 ** (VOICE_PEAK_DBFS / 20.0) / peak)
        return audio, {"score": path, "part": part, "tempo_bpm": round(tempo, 1), "transpose": transpose,
                       **settings}
    raise RuntimeError("make_training_data: 20 chorales in a row gave no usable melody")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--minutes", type=float, default=10.0, help="total duration to render")
    parser.add_argument("--sample-rate", type=int, help="Hz (default 22050 piano, 44100 voices)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clip-seconds", type=float, default=20.0, help="length of each clip")
    parser.add_argument("--choir-fraction", type=float, default=0.0,
                        help="voices only: fraction of clips rendered as GM 'choir aahs' by FluidSynth")
    parser.add_argument("--soundfont", type=Path, default=None, help="General MIDI .sf2")
    parser.add_argument("--force", action="store_true", help="re-render every clip")
    args = parser.parse_args(argv)
    args.sample_rate = args.sample_rate or (22050 if args.kind == "piano" else 44100)

    needs_fluidsynth = args.kind == "piano" or args.choir_fraction > 0
    tools = make_demo.find_tools(args.soundfont) if needs_fluidsynth else None
    key = config_key(args, tools.soundfont if tools else None)
    out: Path = args.out
    manifest_path = out / "manifest.json"
    old: dict[str, Any] = {}
    if manifest_path.is_file() and not args.force:
        previous = json.loads(manifest_path.read_text())
        if previous.get("config_sha256") == key:
            old = previous.get("files", {})
    count = math.ceil(args.minutes * 60.0 / args.clip_seconds)
    pool = score_pool(args.kind)
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
                                           Path(tmp))
            else:
                part = args.kind if args.kind != "voice" else str(rng.choice(("tenor", "soprano")))
                audio, info = render_voice(rng, part, pool, args.sample_rate, args.clip_seconds, cache, tools,
                                           args.choir_fraction, Path(tmp))
            write_audio(path, audio, args.sample_rate, bit_depth=24)
            files[name] = {"sha256": make_demo.sha256_file(path), "bytes": path.stat().st_size,
                           "seed": [args.seed, index], **info}
            made += 1
            print(f"make_training_data: {name} ({info['score'].rsplit('/', 2)[-1]})", flush=True)
    excluded = demo_scores()
    atomic_write_json(manifest_path, {
        "schema_version": SCHEMA_VERSION, "generator": "scripts/make_training_data.py", "kind": args.kind,
        "seed": args.seed, "sample_rate": args.sample_rate, "clip_seconds": args.clip_seconds,
        "minutes": round(count * args.clip_seconds / 60.0, 3), "excluded_scores": list(excluded),
        "soundfont": tools.soundfont.name if tools else None, "config_sha256": key, "files": files,
    })
    print(f"make_training_data: {made} clip(s) rendered, {count - made} kept, {count} in {out} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
