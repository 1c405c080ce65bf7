"""The per-note sample piano: note names, pitch shifting between samples, dampers and the pedal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.engine.errors import ParameterError
from shellac.lab.synthesis.sampler import UNDAMPED_PITCH, SampleNote, SamplePiano, note_pitch

SR = 8000


def _tone(pitch: int, seconds: float = 2.0, sr: int = SR) -> np.ndarray:
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    return 0.5 * np.sin(2 * np.pi * f0 * np.arange(int(seconds * sr)) / sr)


def _peak_hz(x: np.ndarray, sr: int = SR) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1.0 / sr)[np.argmax(spectrum)])


@pytest.mark.parametrize(("stem", "pitch"), [("C4", 60), ("A0v10", 21), ("D#4v10", 63), ("F#7v3", 102),
                                             ("Bb2", 46), ("C8v10", 108), ("C-1", 0)])
def test_note_names_give_midi_pitches(stem: str, pitch: int) -> None:
    assert note_pitch(stem) == pitch


def test_a_file_not_named_as_a_note_is_refused() -> None:
    with pytest.raises(ParameterError, match="not a note name"):
        note_pitch("piano-loud")


def test_folder_is_loaded_at_the_asked_rate_and_notes_between_samples_are_shifted(tmp_path: Path) -> None:
    for name, pitch in (("A4v10", 69), ("C5v10", 72)):
        stereo = np.stack([_tone(pitch, sr=16000)] * 2, axis=1)
        sf.write(tmp_path / f"{name}.ogg", stereo, 16000)
    (tmp_path / "LICENSE").write_text("not a sample")
    piano = SamplePiano.from_dir(tmp_path, SR)
    assert sorted(piano.samples) == [69, 72]
    assert piano.samples[69].size == 2 * SR
    # B♭4 (70) is played from A4 one semitone up: 466.2 Hz.
    out = piano.render([SampleNote(70, 127, 0.0, 1.5)], 1.5)
    assert _peak_hz(out[: SR]) == pytest.approx(466.16, abs=1.5)
    # B4 (71) is nearer C5 and is played from it one semitone down: 493.9 Hz.
    out = piano.render([SampleNote(71, 127, 0.0, 1.5)], 1.5)
    assert _peak_hz(out[: SR]) == pytest.approx(493.88, abs=1.5)


def test_an_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no note samples"):
        SamplePiano.from_dir(tmp_path, SR)


def test_dampers_the_pedal_and_velocity() -> None:
    piano = SamplePiano({60: _tone(60, 3.0), 96: _tone(96, 3.0)}, SR, release_s=0.05)
    note = [SampleNote(60, 127, 0.0, 0.5)]

    def rms(x: np.ndarray, t0: float, t1: float) -> float:
        return float(np.sqrt(np.mean(x[int(t0 * SR): int(t1 * SR)] ** 2)))

    dry = piano.render(note, 2.0)
    assert rms(dry, 0.1, 0.4) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
    assert rms(dry, 0.8, 1.0) < 1e-3  # damped 0.3 s (6 time constants) after the key is up
    held = piano.render(note, 2.0, pedal_down=[(0.2, 1.2)])
    assert rms(held, 0.8, 1.0) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
    assert rms(held, 1.6, 1.8) < 1e-3  # damped when the pedal comes up
    high = piano.render([SampleNote(UNDAMPED_PITCH + 7, 127, 0.0, 0.5)], 2.0)
    assert rms(high, 1.6, 1.8) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)  # no damper up there
    soft = piano.render([SampleNote(60, 64, 0.0, 0.5)], 2.0)
    assert rms(soft, 0.1, 0.4) / rms(dry, 0.1, 0.4) == pytest.approx((64 / 127) ** 2, rel=1e-6)
    late = piano.render([SampleNote(60, 127, 1.5, 3.0)], 2.0)
    assert late.size == 2 * SR and np.all(late[: int(1.5 * SR)] == 0.0)


def test_make_demo_renders_midi_on_a_sample_folder_with_the_pedal(tmp_path: Path) -> None:
    import pretty_midi

    from tests.fixtures.modules import load_module

    make_demo = load_module(Path(__file__).resolve().parents[3] / "scripts" / "make_demo.py", "make_demo_s")
    folder = tmp_path / "grand"
    folder.mkdir()
    sf.write(folder / "C4v10.flac", _tone(60, 3.0), SR)
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    piano.notes.append(pretty_midi.Note(127, 62, 0.2, 0.5))  # D4: C4 two semitones up
    piano.control_changes += [pretty_midi.ControlChange(64, 127, 0.0), pretty_midi.ControlChange(64, 0, 1.0)]
    midi.instruments.append(piano)
    out = make_demo.render(midi, make_demo.Tools("unused", folder), SR, 2.0, tmp_path)
    assert out.size == 2 * SR
    assert _peak_hz(out[int(0.2 * SR): int(0.9 * SR)]) == pytest.approx(293.66, abs=3.0)
    level = float(np.sqrt(np.mean(out[int(0.7 * SR): int(0.9 * SR)] ** 2)))
    assert level == pytest.approx(0.5 / np.sqrt(2), rel=0.05)  # held by the pedal past the key's release
    assert float(np.max(np.abs(out[int(1.6 * SR):]))) < 0.01  # damped (e^-5) after the pedal came up


def test_make_demo_names_an_unplayable_sample_folder(tmp_path: Path) -> None:
    import pretty_midi

    from tests.fixtures.modules import load_module

    make_demo = load_module(Path(__file__).resolve().parents[3] / "scripts" / "make_demo.py", "make_demo_s")
    (tmp_path / "C4v10.ogg").write_bytes(b"not audio")
    midi = pretty_midi.PrettyMIDI()
    midi.instruments.append(pretty_midi.Instrument(0))
    with pytest.raises(SystemExit, match=r"cannot play the piano samples in .*C4v10\.ogg"):
        make_demo.render(midi, make_demo.Tools("unused", tmp_path), SR, 1.0, tmp_path)
