"""Before/after excerpts: the same window of both files, 16-bit FLAC, faded ends, written atomically."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.report.excerpts import FADE_S, excerpt_window, write_excerpts

SR = 8000


def _ramp_file(path: Path, seconds: float, channels: int, scale: float) -> None:
    """A file whose sample value says where it is: sample k holds scale * k / frames (per channel)."""
    frames = int(seconds * SR)
    ramp = np.arange(frames, dtype=np.float64) / frames * scale
    sf.write(path, np.stack([ramp * (c + 1) / channels for c in range(channels)], axis=1), SR,
             subtype="FLOAT")


def test_excerpt_window_is_the_middle() -> None:
    assert excerpt_window(30.0) == (10.0, 10.0)
    assert excerpt_window(4.0) == (0.0, 4.0)
    assert excerpt_window(25.0, 5.0) == (10.0, 5.0)


def test_same_window_of_before_and_after(tmp_path: Path) -> None:
    before, after = tmp_path / "before.wav", tmp_path / "after.wav"
    _ramp_file(before, 30.0, channels=1, scale=0.5)
    _ramp_file(after, 30.0, channels=2, scale=0.9)
    report_dir = tmp_path / "site"
    excerpt = write_excerpts("r1", before, after, report_dir / "report-audio", report_dir)
    assert excerpt is not None
    assert (excerpt.before_url, excerpt.after_url) == (
        "report-audio/r1-before.flac", "report-audio/r1-after.flac")
    assert (excerpt.start_s, excerpt.length_s) == (10.0, 10.0)
    fade = int(FADE_S * SR)
    for name, channels, scale in (("r1-before.flac", 1, 0.5), ("r1-after.flac", 2, 0.9)):
        info = sf.info(report_dir / "report-audio" / name)
        assert (info.samplerate, info.channels, info.frames) == (SR, channels, 10 * SR)
        assert info.subtype == "PCM_16"
        data, _ = sf.read(report_dir / "report-audio" / name, always_2d=True)
        # Samples 10 s .. 20 s of the source: the ramp from 1/3 to 2/3 of full scale.
        expected = (np.arange(10 * SR, 20 * SR) / (30 * SR) * scale)[:, None] * (
            np.arange(1, channels + 1) / channels)
        np.testing.assert_allclose(data[fade:-fade], expected[fade:-fade], atol=1.0 / 2**15)
        assert abs(data[0]).max() == 0.0 and abs(data[-1]).max() < 1e-3  # faded in and out
    written = sorted(p.name for p in (report_dir / "report-audio").iterdir())
    assert written == ["r1-after.flac", "r1-before.flac"]  # no temporary files left behind


def test_missing_side_removes_old_excerpts(tmp_path: Path) -> None:
    before = tmp_path / "before.wav"
    _ramp_file(before, 3.0, channels=1, scale=0.5)
    folder = tmp_path / "report-audio"
    assert write_excerpts("r1", before, before, folder, tmp_path) is not None
    assert write_excerpts("r1", before, None, folder, tmp_path) is None
    assert list(folder.iterdir()) == []


def test_very_short_recording(tmp_path: Path) -> None:
    before = tmp_path / "before.wav"
    _ramp_file(before, 0.004, channels=1, scale=0.5)  # 32 samples: shorter than the two fades
    excerpt = write_excerpts("r1", before, before, tmp_path / "a", tmp_path)
    assert excerpt is not None and excerpt.length_s == pytest.approx(0.004)
    assert sf.info(tmp_path / "a" / "r1-after.flac").frames == 32
