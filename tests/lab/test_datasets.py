"""Segment dataset: determinism, resumable state, silence skipping, resampling and padding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.engine.errors import AudioLoadError
from shellac.lab.datasets import SegmentDataset, list_audio_files

SR = 8000


def _write(path: Path, audio: np.ndarray, sr: int = SR) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio.astype(np.float32), sr)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    _write(tmp_path / "a.wav", 0.1 * rng.standard_normal(SR * 2))
    _write(tmp_path / "sub" / "b.flac", 0.2 * rng.standard_normal((SR, 2)))
    (tmp_path / "notes.txt").write_text("not audio")
    _write(tmp_path / ".hidden" / "c.wav", np.ones(SR))
    return tmp_path


def test_lists_audio_recursively_skipping_hidden(folder: Path) -> None:
    assert [p.relative_to(folder).as_posix() for p in list_audio_files(folder)] == ["a.wav", "sub/b.flac"]
    with pytest.raises(AudioLoadError):
        list_audio_files(folder / "sub" / "missing")


def test_same_seed_same_segments_and_state_restores(folder: Path) -> None:
    one = SegmentDataset(folder, SR, 256, seed=5)
    two = SegmentDataset(folder, SR, 256, seed=5)
    other = SegmentDataset(folder, SR, 256, seed=6)
    first = one.batch(4)
    assert first.shape == (4, 256) and first.dtype == np.float32
    assert np.array_equal(first, two.batch(4))
    assert not np.array_equal(first, other.batch(4))
    state = one.get_state()
    later = one.batch(3)
    one.set_state(state)
    assert np.array_equal(one.batch(3), later)
    assert one.summary.files == 2 and one.summary.duration_s == pytest.approx(3.0)


def test_silent_segments_are_skipped(tmp_path: Path) -> None:
    # 3 s of silence then 1 s of tone: without the check 3/4 of the draws would be silent.
    audio = np.zeros(SR * 4)
    audio[3 * SR :] = 0.3 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)
    _write(tmp_path / "x.wav", audio)
    ds = SegmentDataset(tmp_path, SR, 512, seed=0, silence_db=-40.0)
    rms = np.sqrt(np.mean(ds.batch(50) ** 2, axis=1))
    assert rms.min() >= 10 ** (-40 / 20)


def test_all_silent_raises(tmp_path: Path) -> None:
    _write(tmp_path / "x.wav", np.zeros(SR))
    with pytest.raises(AudioLoadError, match="silence threshold"):
        SegmentDataset(tmp_path, SR, 256).segment()


def test_resamples_to_model_rate_and_pads_short_files(tmp_path: Path) -> None:
    t = np.arange(SR // 4) / SR
    _write(tmp_path / "x.wav", 0.5 * np.sin(2 * np.pi * 500 * t))  # 0.25 s at 8 kHz
    ds = SegmentDataset(tmp_path, 16_000, 8192, seed=0, silence_db=-60)
    seg = ds.segment()
    assert seg.shape == (8192,)
    assert np.all(seg[4100:] == 0.0)  # 4000 resampled samples, then zero padding
    spectrum = np.abs(np.fft.rfft(seg[:4000]))
    assert np.argmax(spectrum) * 16_000 / 4000 == pytest.approx(500, abs=4)
