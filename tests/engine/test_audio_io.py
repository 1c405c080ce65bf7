"""Probing, validated reading and atomic writing of audio files."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.engine.audio_io import probe, read_audio, write_audio
from shellac.engine.errors import AudioLoadError


def test_probe_reports_rate_channels_depth(tmp_path: Path) -> None:
    path = tmp_path / "s.flac"
    sf.write(path, np.zeros((4800, 2), dtype=np.float32), 48000, subtype="PCM_24")
    info = probe(path)
    assert (info.sample_rate, info.channels, info.frames, info.bit_depth) == (48000, 2, 4800, 24)
    assert info.duration_s == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"RIFF\x00\x00\x00\x00WAVEjunk", "cannot read"), (b"hello world" * 10, "cannot read")],
)
def test_bad_files_raise_readable_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioLoadError, match=message):
        read_audio(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioLoadError, match="not found"):
        probe(tmp_path / "nope.wav")


def test_nan_samples_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nan.wav"
    data = np.zeros(1000, dtype=np.float32)
    data[10] = np.nan
    sf.write(path, data, 8000, subtype="FLOAT")
    with pytest.raises(AudioLoadError, match="NaN"):
        read_audio(path)


def test_write_read_round_trip_24bit(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    audio = (0.5 * rng.standard_normal((2, 2000))).clip(-1, 1).astype(np.float32)
    path = tmp_path / "o.flac"
    write_audio(path, audio, 44100, bit_depth=24)
    back, sr = read_audio(path)
    assert sr == 44100 and back.shape == (2, 2000)
    assert np.max(np.abs(back - audio)) < 2.0 ** -22


def test_same_samples_give_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time as _time

    audio = np.random.default_rng(2).standard_normal((1, 4000)).astype(np.float32)
    write_audio(tmp_path / "a.wav", audio, 22050)
    real = _time.time
    monkeypatch.setattr(_time, "time", lambda: real() + 3600.0)  # libsndfile reads the clock itself,
    _time.sleep(1.1)  # so also let a real second pass
    write_audio(tmp_path / "b.wav", audio, 22050)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
