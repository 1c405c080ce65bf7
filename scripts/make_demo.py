"""Render the offline demo collection: real scores, clean renders and simulated 78 rpm transfers.

Scores come from the music21 corpus, are rendered with the FluidSynth CLI and
a General MIDI soundfont (FluidR3_GM from Debian's fluid-soundfont-gm, else the
one shipped with pretty_midi), then degraded with
``shellac.lab.degradation``. Writes, under ``--out`` (default catalogs/demo):

    masters/<id>.{wav,flac}              degraded "transfers", read-only (0o444)
    truth/<id>.clean.flac                clean render at the master's rate (mono)
    truth/<id>.{vocals,accompaniment}.flac   stems of voice items (sum = clean)
    truth/<id>.degradation.json          params, true response, click positions
    reference/{piano,voice}/<name>.flac  clean renders of other pieces (for LTAS)
    manifest.json                        sha256 of every file above

Run: ``.venv/bin/python scripts/make_demo.py [--out DIR] [--seed N] [--force]``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import write_audio
from shellac.engine.errors import AudioLoadError, ParameterError
from shellac.lab.degradation import degrade, random_params
from shellac.lab.synthesis.sampler import SampleNote, SamplePiano

REPO = Path(__file__).resolve().parents[1]
SCHEMA_VERSION = 1
CLEAN_PEAK_DBFS = -1.0
FADE_IN_S, FADE_OUT_S = 0.02, 0.4
VOICE_OVER_ACCOMP_DB = 3.0  # the singer sits in front of the band, as on acoustic records

SYSTEM_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")

# General MIDI programs (0-based)
PIANO, STRINGS, CHOIR_AAHS, VOICE_OOHS = 0, 48, 52, 53


@dataclass(frozen=True)
class Piece:
    """What to render from one corpus score: which parts, where, how fast, on what instrument."""

    score: str
    voice_part: int | None  # None: no vocal line (piano pieces)
    accomp_parts: tuple[int, ...]
    start_ql: float
    duration_s: float
    tempo_bpm: float
    voice_transpose: int = 0
    voice_program: int = CHOIR_AAHS
    accomp_program: int = PIANO


@dataclass(frozen=True)
class MasterSpec:
    """One master of the demo collection and its file format."""

    id: str
    kind: str  # "piano" or "voice"
    piece: Piece
    sample_rate: int
    bit_depth: int
    channels: int
    ext: str


@dataclass(frozen=True)
class ReferenceSpec:
    """One clean reference render (for reference LTAS curves)."""

    name: str
    kind: str
    piece: Piece
    sample_rate: int


MASTERS = (
    MasterSpec("piano-01", "piano", Piece("joplin/maple_leaf_rag", None, (0, 1), 0.0, 25.0, 96.0),
               44100, 16, 1, "wav"),
    MasterSpec("piano-02", "piano", Piece("bach/bwv846", None, (0, 1), 0.0, 20.0, 76.0),
               48000, 24, 2, "flac"),
    MasterSpec("voice-01", "voice",
               Piece("schubert/Lindenbaum", 0, (1, 2), 21.0, 25.0, 84.0, voice_transpose=-12,
                     voice_program=CHOIR_AAHS, accomp_program=PIANO),
               44100, 16, 1, "wav"),
    MasterSpec("voice-02", "voice",
               Piece("handel/rinaldo/Lascia_chio_pianga", 0, (1, 2), 0.0, 20.0, 60.0,
                     voice_program=VOICE_OOHS, accomp_program=STRINGS),
               44100, 24, 1, "wav"),
    MasterSpec("voice-03", "voice",
               Piece("bach/bwv371", 2, (), 0.0, 15.0, 72.0, voice_program=CHOIR_AAHS),
               44100, 16, 1, "flac"),
)

REFERENCES = (
    ReferenceSpec("mozart-k545", "piano",
                  Piece("mozart/k545/movement1_exposition", None, (0, 1), 0.0, 25.0, 126.0), 22050),
    ReferenceSpec("chopin-mazurka06-2", "piano",
                  Piece("chopin/mazurka06-2", None, (0, 1), 0.0, 25.0, 150.0), 22050),
    ReferenceSpec("cpebach-h186", "piano",
                  Piece("cpebach/h186", None, (0, 1), 0.0, 25.0, 100.0), 22050),
    ReferenceSpec("bwv66.6-soprano", "voice",
                  Piece("bach/bwv66.6", 0, (), 0.0, 25.0, 80.0, voice_program=CHOIR_AAHS), 44100),
    ReferenceSpec("bwv269-soprano", "voice",
                  Piece("bach/bwv269", 0, (), 0.0, 25.0, 90.0, voice_program=VOICE_OOHS), 44100),
    ReferenceSpec("bwv38.6-tenor", "voice",
                  Piece("bach/bwv38.6", 2, (), 0.0, 25.0, 80.0, voice_program=CHOIR_AAHS), 44100),
)


# ----------------------------------------------------------------------------- tools


@dataclass(frozen=True)
class Tools:
    """Locations of the external renderer and the sound source (a soundfont, or a folder of per-note
    piano samples played without FluidSynth)."""

    fluidsynth: str
    soundfont: Path


def find_tools(soundfont: Path | None) -> Tools:
    """Check music21, pretty_midi and fluidsynth are present; exit with install advice if not."""
    missing = []
    for module, package in (("music21", "music21"), ("pretty_midi", "pretty_midi")):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"Python package '{package}' (pip install '{package}' or "
                           "pip install -e '.[demo]')")
    exe = shutil.which("fluidsynth")
    if exe is None:
        missing.append("the FluidSynth command-line synthesiser (apt-get install fluidsynth)")
    if missing:
        sys.exit("make_demo: missing " + "; ".join(missing))
    if soundfont is None:
        import pretty_midi

        # FluidR3 (Debian fluid-soundfont-gm) is far brighter than the 6 MB font that
        # pretty_midi ships, whose piano has almost nothing above 6 kHz.
        candidates = [SYSTEM_SOUNDFONT, Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"]
        soundfont = next((p for p in candidates if p.is_file()), candidates[-1])
        if soundfont != SYSTEM_SOUNDFONT:
            print(f"make_demo: {SYSTEM_SOUNDFONT} not found (apt-get install fluid-soundfont-gm);"
                  f" using the duller {soundfont.name}", file=sys.stderr)
    if not (soundfont.is_file() or soundfont.is_dir()):
        sys.exit(f"make_demo: soundfont not found at {soundfont}; pass --soundfont PATH.sf2 (or a folder of "
                 "per-note piano samples)")
    return Tools(exe, soundfont)


# ----------------------------------------------------------------------------- scores


def seconds_map(start_ql: float, end_ql: float, tempo_bpm: float,
                rng: np.random.Generator) -> Callable[[float], float]:
    """Return a function quarter-length offset -> seconds, with slight rubato.

    The tempo breathes by a few percent over 4-bar-ish phrases, as a player would.
    """
    depth = float(rng.uniform(0.02, 0.05))
    period_ql = float(rng.uniform(12.0, 20.0))
    phase = float(rng.uniform(0.0, 2.0 * np.pi))
    grid = np.arange(start_ql, end_ql + 1.0, 1.0 / 32.0)
    bpm = tempo_bpm * (1.0 + depth * np.sin(2.0 * np.pi * grid / period_ql + phase))
    sec = np.concatenate([[0.0], np.cumsum(60.0 / bpm[:-1] * np.diff(grid))])
    return lambda q: float(np.interp(q, grid, sec))


def part_notes(part: Any, transpose: int) -> list[tuple[float, float, int]]:
    """(offset_ql, length_ql, midi_pitch) for every sounding note of a music21 part."""
    notes = []
    for el in part.stripTies().flatten().notes:
        length = float(el.quarterLength)
        if length <= 0.0:  # grace notes carry no duration of their own
            continue
        for pitch in el.pitches:
            notes.append((float(el.offset), length, int(pitch.midi) + transpose))
    return notes


def piece_to_midi(piece: Piece, part_indices: tuple[int, ...], program: int, is_voice: bool,
                  rng: np.random.Generator, score_cache: dict[str, Any]) -> Any:
    """Build a pretty_midi file of the chosen parts within the piece's time window."""
    import pretty_midi
    from music21 import corpus

    if piece.score not in score_cache:
        score_cache[piece.score] = corpus.parse(piece.score)
    score = score_cache[piece.score]
    to_s = seconds_map(piece.start_ql, float(score.highestTime), piece.tempo_bpm, rng)
    inst = pretty_midi.Instrument(program=program, name="voice" if is_voice else "accompaniment")
    base_velocity = 92 if is_voice else 70
    for idx in part_indices:
        transpose = piece.voice_transpose if is_voice else 0
        for off, length, pitch in part_notes(score.parts[idx], transpose):
            if off < piece.start_ql:
                continue
            start = float(to_s(off))
            if start >= piece.duration_s:
                continue
            # Singers join notes; pianists lift slightly between them.
            end = float(to_s(off + length)) - (0.0 if is_voice else 0.03)
            end = min(max(end, start + 0.05), piece.duration_s)
            swell = 8.0 * np.sin(2.0 * np.pi * start / 11.0)  # slow phrase dynamics
            velocity = int(np.clip(base_velocity + swell + rng.normal(0.0, 5.0), 30, 120))
            inst.notes.append(pretty_midi.Note(velocity, int(np.clip(pitch, 0, 127)), start, end))
    if is_voice:
        # Vibrato: about +-25 cents at 5.5 Hz (pitch bend range is +-2 semitones).
        rate = float(rng.uniform(5.0, 6.0))
        for t in np.arange(0.0, piece.duration_s, 0.01):
            bend = int(round(8192 * 0.25 / 2.0 * np.sin(2.0 * np.pi * rate * t)))
            inst.pitch_bends.append(pretty_midi.PitchBend(bend, float(t)))
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    midi.instruments.append(inst)
    return midi


def _fluidsynth(midi: Any, tools: Tools, sample_rate: int, workdir: Path) -> np.ndarray:
    """Render a pretty_midi object with FluidSynth to mono float64 (its own length)."""
    mid_path = workdir / "in.mid"
    wav_path = workdir / "out.wav"
    midi.write(str(mid_path))
    cmd = [tools.fluidsynth, "-ni", "-q", "-g", "0.6", "-r", str(sample_rate), "-C", "0",
           "-O", "float", "-T", "wav", "-F", str(wav_path), str(tools.soundfont), str(mid_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not wav_path.exists():
        sys.exit(f"make_demo: fluidsynth failed ({proc.returncode}): {proc.stderr.strip()}")
    data, sr = sf.read(str(wav_path), dtype="float64", always_2d=True)
    if sr != sample_rate:
        sys.exit(f"make_demo: fluidsynth rendered at {sr} Hz instead of {sample_rate} Hz")
    return data.mean(axis=1)


@functools.lru_cache(maxsize=4)
def sample_piano(folder: Path, sample_rate: int) -> SamplePiano:
    """The per-note samples of ``folder`` at ``sample_rate``, loaded once per process; exits if unplayable."""
    try:
        return SamplePiano.from_dir(folder, sample_rate)
    except (ParameterError, AudioLoadError) as exc:
        sys.exit(f"make_demo: cannot play the piano samples in {folder}: {exc}")


def play_samples(midi: Any, folder: Path, sample_rate: int, duration_s: float) -> np.ndarray:
    """Play a pretty_midi object's pitched notes on the sample piano of ``folder`` (sustain pedal kept)."""
    notes, pedal = [], []
    for inst in midi.instruments:
        if inst.is_drum:
            continue
        notes += [SampleNote(n.pitch, n.velocity, n.start, n.end) for n in inst.notes]
        down = None
        for cc in sorted((c for c in inst.control_changes if c.number == 64), key=lambda c: c.time):
            if cc.value >= 64 and down is None:
                down = cc.time
            elif cc.value < 64 and down is not None:
                pedal.append((down, cc.time))
                down = None
        if down is not None:
            pedal.append((down, float("inf")))
    return sample_piano(folder, sample_rate).render(notes, duration_s, pedal)


def render(midi: Any, tools: Tools, sample_rate: int, duration_s: float, workdir: Path) -> np.ndarray:
    """Render a pretty_midi object to mono float64 of exactly ``duration_s`` seconds.

    ``tools.soundfont`` is a soundfont (played by FluidSynth) or a folder of per-note piano
    samples (played by shellac.lab.synthesis.sampler; every pitched part becomes piano).
    """
    if tools.soundfont.is_dir():
        mono = play_samples(midi, tools.soundfont, sample_rate, duration_s)
    else:
        mono = _fluidsynth(midi, tools, sample_rate, workdir)
    n = int(round(duration_s * sample_rate))
    out = np.zeros(n)
    out[: min(n, mono.size)] = mono[:n]
    fade_in, fade_out = int(FADE_IN_S * sample_rate), int(FADE_OUT_S * sample_rate)
    out[:fade_in] *= np.linspace(0.0, 1.0, fade_in)
    out[n - fade_out :] *= np.linspace(1.0, 0.0, fade_out)
    return out


def render_piece(piece: Piece, tools: Tools, sample_rate: int, rng: np.random.Generator,
                 cache: dict[str, Any], workdir: Path) -> dict[str, np.ndarray]:
    """Render the stems of a piece (vocals and/or accompaniment) and their sum as 'clean'.

    All stems share one scale, chosen so that the clean mix peaks at CLEAN_PEAK_DBFS.
    """
    stems: dict[str, np.ndarray] = {}
    if piece.voice_part is not None:
        midi = piece_to_midi(piece, (piece.voice_part,), piece.voice_program, True, rng, cache)
        stems["vocals"] = render(midi, tools, sample_rate, piece.duration_s, workdir)
    if piece.accomp_parts:
        midi = piece_to_midi(piece, piece.accomp_parts, piece.accomp_program, False, rng, cache)
        stems["accompaniment"] = render(midi, tools, sample_rate, piece.duration_s, workdir)
    if "vocals" in stems and "accompaniment" in stems:
        rms_v = np.sqrt(np.mean(stems["vocals"] ** 2))
        rms_a = np.sqrt(np.mean(stems["accompaniment"] ** 2))
        stems["vocals"] *= rms_a / rms_v * 10.0 ** (VOICE_OVER_ACCOMP_DB / 20.0)
    clean = np.sum(list(stems.values()), axis=0)
    peak = float(np.max(np.abs(clean)))
    if peak == 0.0:
        sys.exit(f"make_demo: {piece.score} rendered silent; check the soundfont")
    scale = 10.0 ** (CLEAN_PEAK_DBFS / 20.0) / peak
    out = {name: stem * scale for name, stem in stems.items()}
    out["clean"] = clean * scale
    return out


def stereo_capture(mono: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two channels of one mono groove: a sub-sample lag, a small gain offset, independent hiss.

    Returns shape (2, samples).
    """
    n = mono.size
    lag = float(rng.uniform(0.2, 0.6))  # samples; the two stylus walls are not quite aligned
    spec = np.fft.rfft(mono)
    shift = np.exp(-2j * np.pi * np.fft.rfftfreq(n) * lag)
    right = np.fft.irfft(spec * shift, n=n) * 10.0 ** (float(rng.uniform(-0.5, -0.2)) / 20.0)
    floor = 10.0 ** (-66.0 / 20.0)
    stereo = np.stack([mono + floor * rng.standard_normal(n), right + floor * rng.standard_normal(n)])
    peak = float(np.max(np.abs(stereo)))
    return stereo * (0.99 / peak) if peak > 0.99 else stereo


# ----------------------------------------------------------------------------- manifest


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def config_hash(seed: int, soundfont: Path) -> str:
    """Hash of everything that decides the output: specs, seed, soundfont and generating code."""
    digest = hashlib.sha256()
    spec = {"schema": SCHEMA_VERSION, "seed": seed,
            "masters": [asdict(m) for m in MASTERS], "references": [asdict(r) for r in REFERENCES]}
    digest.update(json.dumps(spec, sort_keys=True).encode())
    digest.update(sha256_file(soundfont).encode())
    code = [Path(__file__).resolve(), *sorted((REPO / "shellac/lab/degradation").glob("*.py"))]
    for path in code:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def manifest_is_current(out: Path, key: str) -> bool:
    """True when manifest.json was made with ``key`` and every listed file still matches."""
    path = out / "manifest.json"
    if not path.is_file():
        return False
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError:
        return False
    if manifest.get("config_sha256") != key:
        return False
    files = manifest.get("files", {})
    return bool(files) and all(
        (out / rel).is_file() and sha256_file(out / rel) == entry["sha256"]
        for rel, entry in files.items()
    )


# ----------------------------------------------------------------------------- main


def write_master(path: Path, audio: np.ndarray, sample_rate: int, bit_depth: int) -> None:
    """Write a master atomically and leave it read-only, as archive masters are."""
    write_audio(path, audio, sample_rate, bit_depth=bit_depth)
    os.chmod(path, 0o444)


def build(out: Path, seed: int, tools: Tools) -> dict[str, Any]:
    """Render and degrade everything; return the manifest (without writing it)."""
    cache: dict[str, Any] = {}
    written: list[Path] = []
    items: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="shellac-demo-") as tmp:
        workdir = Path(tmp)
        for index, spec in enumerate(MASTERS):
            rng = np.random.default_rng([seed, index])
            stems = render_piece(spec.piece, tools, spec.sample_rate, rng, cache, workdir)
            params = random_params(rng)
            result = degrade(stems["clean"], spec.sample_rate, params, rng)
            audio = result.audio if spec.channels == 1 else stereo_capture(result.audio, rng)
            master = out / "masters" / f"{spec.id}.{spec.ext}"
            write_master(master, audio, spec.sample_rate, spec.bit_depth)
            written.append(master)
            truth_audio = {"clean": stems["clean"]}
            if spec.kind == "voice":
                # An unaccompanied item gets a silent accompaniment: that is its true stem.
                silence = np.zeros_like(stems["clean"])
                truth_audio["vocals"] = stems.get("vocals", silence)
                truth_audio["accompaniment"] = stems.get("accompaniment", silence)
            for name, stem in truth_audio.items():
                path = out / "truth" / f"{spec.id}.{name}.flac"
                write_audio(path, stem, spec.sample_rate, bit_depth=24)
                written.append(path)
            truth = {
                "schema_version": SCHEMA_VERSION,
                "id": spec.id,
                "kind": spec.kind,
                "master": f"masters/{master.name}",
                "channels": spec.channels,
                "bit_depth": spec.bit_depth,
                "duration_s": spec.piece.duration_s,
                "seed": [seed, index],
                "source": {**asdict(spec.piece), "corpus": "music21",
                           "soundfont": tools.soundfont.name},
                "notes": ("clean/stems are mono; a stereo master is the mono transfer captured "
                          "on two channels with a sub-sample lag, small gain offset and "
                          "independent -66 dBFS noise") if spec.channels == 2 else "",
                **result.to_json(),
            }
            path = out / "truth" / f"{spec.id}.degradation.json"
            atomic_write_json(path, truth)
            written.append(path)
            items[spec.id] = {"duration_s": spec.piece.duration_s,
                              "sample_rate_hz": spec.sample_rate,
                              "clicks": len(result.click_positions_samples),
                              "lowpass_hz": params.lowpass_hz,
                              "hiss_snr_db": params.hiss_snr_db}
        for index, ref in enumerate(REFERENCES):
            rng = np.random.default_rng([seed, 1000 + index])
            stems = render_piece(ref.piece, tools, ref.sample_rate, rng, cache, workdir)
            path = out / "reference" / ref.kind / f"{ref.name}.flac"
            write_audio(path, stems["clean"], ref.sample_rate, bit_depth=24)
            written.append(path)
    files = {
        p.relative_to(out).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in written
    }
    return {"schema_version": SCHEMA_VERSION, "generator": "scripts/make_demo.py", "seed": seed,
            "items": items, "files": files}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "catalogs" / "demo",
                        help="collection directory (default: catalogs/demo)")
    parser.add_argument("--seed", type=int, default=78, help="random seed (default: 78)")
    parser.add_argument("--force", action="store_true",
                        help="rebuild even when the manifest says the outputs are current, "
                             "and overwrite masters that do not match it")
    parser.add_argument("--soundfont", type=Path, default=None,
                        help="General MIDI .sf2, or a folder of per-note piano samples named like "
                             "C4v10.ogg (default: FluidR3_GM.sf2 if installed, else pretty_midi's "
                             "TimGM6mb.sf2)")
    args = parser.parse_args(argv)

    tools = find_tools(args.soundfont)
    out: Path = args.out
    key = config_hash(args.seed, tools.soundfont)
    if not args.force and manifest_is_current(out, key):
        print(f"make_demo: {out} is up to date (manifest matches); use --force to rebuild")
        return 0
    existing = sorted((out / "masters").glob("*")) if (out / "masters").is_dir() else []
    if existing and not args.force:
        sys.exit(f"make_demo: {out / 'masters'} already holds masters that do not match the "
                 "manifest (different seed, code or edits); rerun with --force to replace them")
    started = time.perf_counter()
    manifest = build(out, args.seed, tools)
    manifest["config_sha256"] = key
    atomic_write_json(out / "manifest.json", manifest)
    print(f"make_demo: wrote {len(manifest['files'])} files to {out} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
