"""End-to-end run of scripts/make_demo.py (needs fluidsynth and music21; slow)."""

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[3]

EXPECTED = {  # id: (file, sample rate, channels, subtype, min s, max s)
    "piano-01": ("piano-01.wav", 44100, 1, "PCM_16", 20, 30),
    "piano-02": ("piano-02.flac", 48000, 2, "PCM_24", 15, 25),
    "voice-01": ("voice-01.wav", 44100, 1, "PCM_16", 20, 30),
    "voice-02": ("voice-02.wav", 44100, 1, "PCM_24", 15, 25),
    "voice-03": ("voice-03.flac", 44100, 1, "PCM_16", 10, 20),
}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth CLI not installed")
def test_make_demo_writes_the_collection(tmp_path: Path) -> None:
    pytest.importorskip("music21")
    pytest.importorskip("pretty_midi")
    cmd = [sys.executable, str(REPO / "scripts" / "make_demo.py"), "--out", str(tmp_path)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)

    for item, (name, sr, ch, subtype, lo, hi) in EXPECTED.items():
        master = tmp_path / "masters" / name
        info = sf.info(str(master))
        assert (info.samplerate, info.channels, info.subtype) == (sr, ch, subtype)
        assert lo <= info.duration <= hi
        assert not master.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        truth = json.loads((tmp_path / "truth" / f"{item}.degradation.json").read_text())
        assert 2500.0 <= truth["params"]["lowpass_hz"] <= 6000.0
        assert truth["click_positions_s"] and max(truth["click_positions_s"]) < info.duration
        clean, clean_sr = sf.read(str(tmp_path / "truth" / f"{item}.clean.flac"))
        assert clean_sr == sr and clean.ndim == 1 and clean.size == info.frames
        if item.startswith("voice"):
            vocals, _ = sf.read(str(tmp_path / "truth" / f"{item}.vocals.flac"))
            accomp, _ = sf.read(str(tmp_path / "truth" / f"{item}.accompaniment.flac"))
            np.testing.assert_allclose(vocals + accomp, clean, atol=3e-7)  # 24-bit rounding
    assert len(list((tmp_path / "reference" / "piano").glob("*.flac"))) >= 2
    assert len(list((tmp_path / "reference" / "voice").glob("*.flac"))) >= 2
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["files"]) == 27

    again = subprocess.run(cmd, check=True, capture_output=True, text=True)
    assert "up to date" in again.stdout
