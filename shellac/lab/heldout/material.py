"""Held-out piano: music21 corpus works of catalogs/heldout.toml rendered with a held-out soundfont."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.atomic import atomic_path
from shellac.engine.errors import ParameterError

HELDOUT_TOML = Path("catalogs/heldout.toml")
SOUNDFONT_DIRS = (Path("/usr/share/sounds/sf3"), Path("/usr/share/sounds/sf2"))
CLEAN_PEAK = 0.5  # clean excerpts are scaled to this peak (the "0.5-peak signal")
MIN_RMS = 0.02  # an excerpt quieter than this (after peak scaling) is mostly silence: drawn again
ANALYSES = (".rntxt",)  # corpus files that are harmonic analyses, not music (monteverdi has one per madrigal)
RENDER_VERSION = 1  # bump when the rendering changes, so cached renders are not reused


@dataclass(frozen=True)
class HeldoutPart:
    """The held-out material of one content kind and part (``validation`` or ``benchmark``)."""

    kind: str
    part: str
    soundfont: Path | None  # None: the kind lists no soundfont; its material is sung (heldout/sung.py)
    composers: tuple[str, ...]


def load_heldout(part: str, *, kind: str = "piano", path: Path = HELDOUT_TOML) -> HeldoutPart:
    """Read ``part`` of ``kind`` from heldout.toml and find its first soundfont here (if it lists any)."""
    if part not in ("validation", "benchmark"):
        raise ParameterError(f"held-out part must be 'validation' or 'benchmark', not {part!r}")
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8"))[kind]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"cannot read [{kind}] of {path}: {exc}") from exc
    names = list(table.get("soundfonts", []))
    if not names:
        return HeldoutPart(kind, part, None, tuple(table[part]))
    found = [d / n for n in names for d in SOUNDFONT_DIRS if (d / n).is_file()]
    if not found:
        raise ParameterError(
            f"held-out soundfont {names} not found in {[str(d) for d in SOUNDFONT_DIRS]} "
            "(apt-get install musescore-general-soundfont)"
        )
    return HeldoutPart(kind, part, found[0], tuple(table[part]))


def find_soundfont(name: Path) -> Path:
    """``name`` itself if it is a file, else the file of that name in the system soundfont folders."""
    if name.is_file():
        return name
    found = [d / name.name for d in SOUNDFONT_DIRS if (d / name.name).is_file()]
    if not found:
        raise ParameterError(f"soundfont {str(name)!r} is neither a file nor in "
                             f"{[str(d) for d in SOUNDFONT_DIRS]}")
    return found[0]


def corpus_scores(composers: tuple[str, ...]) -> list[str]:
    """Every music21 corpus file of ``composers`` but analyses (relative corpus paths, sorted)."""
    from music21 import corpus

    scores = []
    for composer in composers:
        paths = corpus.getComposer(composer)
        if not paths:
            raise ParameterError(f"music21 corpus has no works by {composer!r}")
        scores += [str(p).split("/corpus/", 1)[-1] for p in paths if Path(p).suffix not in ANALYSES]
    return sorted(scores)


@dataclass(frozen=True)
class RenderSpec:
    """What decides one rendered excerpt (its cache key)."""

    score: str
    soundfont: str
    sample_rate: int
    seconds: float
    seed: int

    def key(self) -> str:
        """Short hash naming the cached render."""
        return spec_key(self.__dict__, RENDER_VERSION)


def spec_key(fields: dict[str, object], version: int) -> str:
    """Short hash of a render's deciding fields and its renderer's version."""
    spec = {**fields, "version": version}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def cached_excerpt(target: Path) -> np.ndarray | None:
    """The excerpt stored at ``target`` (float64), or None when there is none yet."""
    if not target.is_file():
        return None
    audio, _ = sf.read(target, dtype="float64")
    return np.asarray(audio)


def store_excerpt(excerpt: np.ndarray, sample_rate: int, target: Path) -> np.ndarray:
    """Fade ``excerpt``'s ends in and out over 10 ms, write it to ``target`` (float WAV, atomically) and
    return it as stored: a fresh render and a cached one are the same samples, so a benchmark's scores
    do not depend on whether its cache was warm."""
    fade = int(0.01 * sample_rate)
    excerpt[:fade] *= np.linspace(0.0, 1.0, fade)
    excerpt[-fade:] *= np.linspace(1.0, 0.0, fade)
    stored = excerpt.astype(np.float32)
    with atomic_path(target) as tmp:
        sf.write(tmp, stored, sample_rate, subtype="FLOAT", format="WAV")
    return stored.astype(np.float64)


def score_parts(score_path: str) -> tuple[list[list[tuple[float, float, int]]], float]:
    """Per part, (offset, length, MIDI pitch) in quarter notes of its notes; and the score's length.

    An ABC file that parses as an opus (the josquin files: one tune per voice) gives the
    parts of all its scores.
    """
    from music21 import corpus, stream

    parsed = corpus.parse(score_path)
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    parts = []
    for score in scores:
        for part in score.parts:
            notes = []
            for el in part.stripTies().flatten().notes:
                length = float(el.quarterLength)
                if length > 0:
                    notes += [(float(el.offset), length, int(p.midi)) for p in el.pitches]
            parts.append(notes)
    return parts, max(float(score.highestTime) for score in scores)


def _score_notes(score_path: str) -> tuple[list[tuple[float, float, int]], float]:
    """(offset, length, MIDI pitch) in quarter notes of every part's notes, and the score's length."""
    parts, length_ql = score_parts(score_path)
    return [note for notes in parts for note in notes], length_ql


def _midi(
    notes: list[tuple[float, float, int]], start_ql: float, seconds: float, rng: np.random.Generator
) -> object:
    """A piano pretty_midi file of the notes from ``start_ql`` on, seeded tempo, velocity and pedal."""
    import pretty_midi

    qpm = float(rng.uniform(70.0, 120.0))
    sec_per_ql = 60.0 / qpm
    base = float(rng.uniform(55.0, 85.0))
    piano = pretty_midi.Instrument(program=0, name="piano")
    for off, length, pitch in notes:
        start = (off - start_ql) * sec_per_ql
        if start < 0 or start >= seconds:
            continue
        end = min(start + max(length * sec_per_ql - 0.02, 0.06), seconds + 1.0)
        velocity = int(np.clip(base + rng.normal(0.0, 8.0) + 0.15 * (pitch - 60), 25, 120))
        piano.notes.append(pretty_midi.Note(velocity, int(np.clip(pitch, 21, 108)), start, end))
    # Sustain pedal: down for most of each bar-ish span, lifted briefly between.
    t = 0.0
    while t < seconds:
        span = float(rng.uniform(1.0, 2.5))
        piano.control_changes += [
            pretty_midi.ControlChange(64, 100, t),
            pretty_midi.ControlChange(64, 0, t + span - 0.1),
        ]
        t += span
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    midi.instruments.append(piano)
    return midi


def render_excerpt(spec: RenderSpec, cache: Path) -> np.ndarray:
    """The clean mono excerpt of ``spec`` (float64 at ``spec.sample_rate`` Hz, peak CLEAN_PEAK), cached.

    Up to eight start positions are drawn (seeded) until the excerpt is not mostly silence.
    """
    target = Path(cache) / f"{spec.key()}.wav"
    stored = cached_excerpt(target)
    if stored is not None:
        return stored
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise ParameterError("FluidSynth is not installed (apt-get install fluidsynth)")
    notes, length_ql = _score_notes(spec.score)
    rng = np.random.default_rng(spec.seed)
    n = int(round(spec.seconds * spec.sample_rate))
    excerpt = np.zeros(n)
    for _ in range(8):
        start_ql = float(rng.uniform(0.0, max(length_ql - 16.0, 0.0)))
        midi = _midi(notes, start_ql, spec.seconds, rng)
        with tempfile.TemporaryDirectory(prefix="shellac-render-") as tmp:
            mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
            midi.write(str(mid))  # type: ignore[attr-defined]
            cmd = [
                exe,
                "-ni",
                "-q",
                "-g",
                "0.6",
                "-C",
                "0",
                "-r",
                str(spec.sample_rate),
                "-O",
                "float",
                "-T",
                "wav",
                "-F",
                str(wav),
                spec.soundfont,
                str(mid),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0 or not wav.is_file():
                raise ParameterError(f"fluidsynth failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
            data, _ = sf.read(wav, dtype="float64", always_2d=True)
        mono = data.mean(axis=1)[:n]
        excerpt = np.zeros(n)
        excerpt[: mono.size] = mono
        peak = float(np.max(np.abs(excerpt)))
        if peak > 0:
            excerpt *= CLEAN_PEAK / peak
            if float(np.sqrt(np.mean(excerpt**2))) >= MIN_RMS:
                break
    return store_excerpt(excerpt, spec.sample_rate, target)
