"""Separating a file window by window gives the whole-recording separation to the bit."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.engine.audio_io import write_audio
from shellac.engine.fixity import sha256_file
from shellac.engine.separation import (
    find_model_files,
    load_separation_model,
    separate_sources,
    vocals_and_accompaniment,
)
from shellac.engine.separation_stream import SegmentGrid, segment_grid, separate_file, window_context


def _music(channels: int, seconds: float, sr: int) -> np.ndarray:
    rng = np.random.default_rng(channels)
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * ((t % 0.6) < 0.4)
    return (tone + 0.05 * rng.standard_normal((channels, t.size))).astype(np.float32)


@pytest.mark.parametrize(("channels", "sr", "shifts", "segment_s"), [
    (1, 22050, 0, None),  # resampled up, folded back to mono
    (2, 16000, 1, 0.8),  # a shifted pass, a shorter segment
    (2, 44100, 0, None),  # the model's own rate and layout
])
def test_windows_match_the_whole_recording_bit_for_bit(
    tiny_demucs_dir: Path, tmp_path: Path, channels: int, sr: int, shifts: int, segment_s: float | None
) -> None:
    model = load_separation_model(find_model_files(tiny_demucs_dir, "htdemucs"))
    x = _music(channels, 7.3, sr)
    sf.write(tmp_path / "in.wav", x.T, sr, subtype="FLOAT")
    sources = separate_sources(x, sr, model, segment_s=segment_s, shifts=shifts, seed=3)
    whole = vocals_and_accompaniment(sources)
    for name, stem in whole.items():
        write_audio(tmp_path / f"whole_{name}.wav", stem, sr)
    paths = {name: tmp_path / f"{name}.wav" for name in whole}
    # Windows of two strides (1.5 s or 1.2 s): five or more, each with a segment of context either side.
    stats = separate_file(tmp_path / "in.wav", paths, model, work=tmp_path / "work", segment_s=segment_s,
                          shifts=shifts, seed=3, window_strides=2)
    for name, path in paths.items():
        assert sha256_file(path) == sha256_file(tmp_path / f"whole_{name}.wav")
        assert stats[name].count == x.shape[1]
    assert not any((tmp_path / "work").iterdir())


def test_segment_grid_and_window_context(tiny_demucs_dir: Path) -> None:
    model = load_separation_model(find_model_files(tiny_demucs_dir, "htdemucs"))
    grid = segment_grid(model, None, 0.25)
    assert grid == SegmentGrid(stride=33075, longest=44100, uniform=True)
    # No shifts: the segment starting a stride earlier covers `start`; the last one starts a stride
    # before `stop`. A shifted pass needs a further stride before and a whole segment after.
    assert window_context(10 * 33075, 20 * 33075, 10**7, grid, 0) == (9 * 33075, 20 * 33075 + 11025)
    assert window_context(10 * 33075, 20 * 33075, 10**7, grid, 1) == (8 * 33075, 20 * 33075 + 44100)
    assert window_context(0, 33075, 40000, grid, 1) == (0, 40000)
