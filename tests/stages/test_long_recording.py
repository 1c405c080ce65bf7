"""Long masters go through the chain without being loaded whole (slow: run with -m slow)."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.engine.fixity import sha256_file

from ..fixtures.bundles import make_tiny_bundle
from ..fixtures.memory import run_in_child


def _write_minutes(path: Path, minutes: int, sample_rate: int) -> None:
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", sample_rate, 1, subtype="PCM_16") as out:
        for _ in range(minutes):  # one minute at a time: the test itself stays small too
            t = np.arange(60 * sample_rate) / sample_rate
            tone = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 800) * t) * ((t % 0.7) < 0.5)
            out.write((tone + 0.01 * rng.standard_normal(t.size)).astype(np.float32))


@pytest.mark.slow
def test_one_hour_master_in_bounded_memory(tmp_path: Path) -> None:
    sr = 22050
    master = tmp_path / "hour.wav"
    _write_minutes(master, 60, sr)
    reference = tmp_path / "ref"
    reference.mkdir()
    sf.write(reference / "clean.wav", 0.1 * np.random.default_rng(1).standard_normal(sr * 10), sr)
    before = sha256_file(master)
    job = {"recording_id": "hour", "master_path": str(master), "recording_dir": str(tmp_path / "work"),
           "base_dir": str(tmp_path), "profile": "piano-ltas",
           "overrides": {"ltas_eq": {"reference": str(reference)}}}
    peak = run_in_child(job, tmp_path / "job.json").peak_rss_mb
    info = sf.info(tmp_path / "work" / "hour.flac")
    assert info.frames == 3600 * sr and info.samplerate == sr
    # One hour of float32 mono alone would be 318 MB, and the one-shot STFTs several GB.
    assert peak < 1500, f"peak RSS {peak:.0f} MB"
    assert sha256_file(master) == before


@pytest.mark.slow
def test_generative_eq_memory_does_not_grow_with_length(tmp_path: Path) -> None:
    """Peak RSS of a 20-minute generative EQ stays within noise of a 3-minute one (tiny model, 8 kHz)."""
    sr = 8000
    make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=sr)
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "gen.toml").write_text(
        '[[steps]]\nstage = "ingest"\n[[steps]]\nstage = "generative_eq"\nparams = { model = "tiny" }\n'
        '[[steps]]\nstage = "tag"\n')
    peaks = {}
    # 3 minutes already fill every chunk of the chunked file helpers (the LTAS reads 131 s at a time).
    for minutes in (3, 20):
        master = tmp_path / f"m{minutes}.wav"
        _write_minutes(master, minutes, sr)
        job = {"recording_id": f"m{minutes}", "master_path": str(master),
               "recording_dir": str(tmp_path / f"work{minutes}"), "base_dir": str(tmp_path),
               "models_dir": str(tmp_path / "models"), "profile": "gen",
               "profile_dirs": [str(tmp_path / "profiles")],
               "overrides": {"generative_eq": {"model": "tiny", "n_steps": 2, "filter_iters": 1}}}
        # One torch thread (run_in_child's default), as in the other generative_eq tests.
        peaks[minutes] = run_in_child(job, tmp_path / "job.json").peak_rss_mb
        restored = tmp_path / f"work{minutes}" / "01-generative_eq" / "audio.wav"
        assert sf.info(restored).frames == minutes * 60 * sr
    # Before blocks released their memory-mapped pages (three float32 signals, 1.9 MB per minute
    # each at 8 kHz), this measured 555 MB at 3 min and 684 MB at 20 min; then 484 and 481 MB,
    # but that was getrusage's peak, which Linux keeps across exec from this test process (torch
    # loaded): the child's own peak was 480 and 587 MB, until the quality gate's three memory maps
    # released their pages as it read them: 477 and 480 MB (ingest + generative_eq, 2026-11-30).
    assert peaks[20] - peaks[3] < 30, f"peak RSS {peaks[3]:.0f} MB at 3 min, {peaks[20]:.0f} MB at 20 min"
