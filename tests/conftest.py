"""Shared fixtures: short synthetic recordings and a tiny catalog built from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 22050


@pytest.fixture(autouse=True)
def _seeded_global_rngs() -> None:
    """Seed torch's and numpy's global generators per test, so no result depends on test order."""
    import torch

    torch.manual_seed(0)
    np.random.seed(0)


def harmonic_tone(seconds: float, sr: int = SR, f0: float = 220.0, seed: int = 0,
                  noise: float = 0.01) -> np.ndarray:
    """A gated harmonic tone with hiss: music-like enough for denoise and LTAS tests."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    tone = sum(0.2 / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 12))
    gate = (t % 1.0) < 0.6
    return (tone * gate + noise * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    """A catalog with two good recordings, a silent one, a missing one and bad rows."""
    root = tmp_path / "coll"
    masters = root / "masters"
    ref = root / "reference"
    masters.mkdir(parents=True)
    ref.mkdir()
    sf.write(masters / "a.wav", harmonic_tone(4.0), SR, subtype="PCM_16")
    stereo = np.stack([harmonic_tone(3.0, seed=1), harmonic_tone(3.0, seed=2)], axis=1)
    sf.write(masters / "b.flac", stereo, 44100 // 2, subtype="PCM_24")
    sf.write(masters / "silent.wav", np.zeros(SR * 2, dtype=np.float32), SR, subtype="PCM_16")
    rng = np.random.default_rng(5)
    sf.write(ref / "clean.wav", (0.1 * rng.standard_normal(SR * 4)).astype(np.float32), SR)
    for path in masters.iterdir():
        path.chmod(0o444)
    (root / "catalog.csv").write_text(
        "id,file,title,performer,year,content,shelfmark\n"
        "a,a.wav,Song A,Enrico Caruso,1907,piano,SH-1\n"
        "b,b.flac,Song B,,1910,piano,SH-2\n"
        "silent,silent.wav,Nothing,,,piano,\n"
        "gone,missing.wav,Gone,,,piano,\n"
        "bad id,x.wav,,,,piano,\n"
        "a,a.wav,Duplicate,,,piano,\n",
        encoding="utf-8",
    )
    (root / "collection.toml").write_text(
        'name = "testcoll"\nsource_root = "masters"\noutput_root = "../out"\n'
        '[profiles]\npiano = "piano-ltas"\n'
        '[profile_overrides.piano-ltas.ltas_eq]\nreference = "reference"\n',
        encoding="utf-8",
    )
    return root


@pytest.fixture(scope="session")
def prefect_api():  # type: ignore[no-untyped-def]
    """A throwaway Prefect API (temporary SQLite database) shared by every test that runs flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
