"""HT-Demucs separation: local-only loading, checksums, shapes, rates and channel layouts."""

from pathlib import Path

import numpy as np
import pytest

from shellac.engine.errors import ModelLoadingError, ParameterError
from shellac.engine.separation import (
    find_model_files,
    load_separation_model,
    model_segment_s,
    separate_sources,
    vocals_and_accompaniment,
)
from tests.fixtures.tiny_demucs import SOURCES, make_tiny_demucs_repo


def _tone(channels: int, seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal((channels, t.size))
    return tone.astype(np.float32)


@pytest.mark.parametrize("layout", ["bag", "single", "hub"])
def test_layouts_load(tmp_path: Path, layout: str) -> None:
    repo = make_tiny_demucs_repo(tmp_path / layout, layout=layout)
    files = find_model_files(repo, "htdemucs")
    assert len(files.weights) == 1 and files.packaged_bag == (layout == "hub")
    model = load_separation_model(files)
    assert list(model.sources) == SOURCES and model.samplerate == 44100
    assert model_segment_s(model) == 1.0


def test_checksum_is_content_based(tiny_demucs_dir: Path, tmp_path: Path) -> None:
    first = find_model_files(tiny_demucs_dir, "htdemucs").checksum()
    same = make_tiny_demucs_repo(tmp_path / "same", seed=0)
    other = make_tiny_demucs_repo(tmp_path / "other", seed=1)
    assert find_model_files(same, "htdemucs").checksum() == first
    assert find_model_files(other, "htdemucs").checksum() != first


def test_missing_directory_names_expected_files(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadingError, match=r"does not exist.*htdemucs\.yaml.*955717e8-8726e21a\.th"):
        find_model_files(tmp_path / "nowhere", "htdemucs")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadingError, match=r"not found in .*empty.*mymodel\.yaml"):
        find_model_files(tmp_path / "empty", "mymodel")


def test_bag_with_missing_weights(tmp_path: Path) -> None:
    repo = make_tiny_demucs_repo(tmp_path / "r")
    next(repo.glob("*.th")).unlink()
    with pytest.raises(ModelLoadingError, match="no weights for signature.*0badc0de"):
        find_model_files(repo, "htdemucs")


def test_corrupt_weights_fail_their_checksum(tmp_path: Path) -> None:
    repo = make_tiny_demucs_repo(tmp_path / "r")
    weights = next(repo.glob("*.th"))
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelLoadingError, match="Invalid checksum"):
        load_separation_model(find_model_files(repo, "htdemucs"))


def test_mono_22k_round_trip(tiny_demucs_dir: Path) -> None:
    model = load_separation_model(find_model_files(tiny_demucs_dir, "htdemucs"))
    sr = 22050
    x = _tone(1, 2.5, sr)
    sources = separate_sources(x, sr, model, overlap=0.25)
    assert list(sources) == SOURCES
    for stem in sources.values():
        assert stem.shape == x.shape and stem.dtype == np.float32 and np.isfinite(stem).all()
        assert stem.std() > 0
    stems = vocals_and_accompaniment(sources)
    assert set(stems) == {"vocals", "accompaniment"}
    assert stems["vocals"].shape == stems["accompaniment"].shape == x.shape
    np.testing.assert_allclose(stems["vocals"], sources["vocals"], atol=1e-7)
    total = sum(sources.values())
    np.testing.assert_allclose(stems["vocals"] + stems["accompaniment"], total, atol=1e-6)


def test_stereo_keeps_layout_and_shifts_are_seeded(tiny_demucs_dir: Path) -> None:
    model = load_separation_model(find_model_files(tiny_demucs_dir, "htdemucs"))
    sr = 44100
    x = _tone(2, 1.0, sr, seed=3)
    a = vocals_and_accompaniment(separate_sources(x, sr, model, shifts=1, seed=7))
    b = vocals_and_accompaniment(separate_sources(x, sr, model, shifts=1, seed=7))
    assert a["vocals"].shape == (2, x.shape[1])
    np.testing.assert_array_equal(a["vocals"], b["vocals"])
    # Channels are separated independently enough that the stereo image survives.
    assert not np.allclose(a["vocals"][0], a["vocals"][1])


def test_segment_longer_than_training_is_refused(tiny_demucs_dir: Path) -> None:
    model = load_separation_model(find_model_files(tiny_demucs_dir, "htdemucs"))
    with pytest.raises(ParameterError, match="longer than the model's 1.00 s"):
        separate_sources(_tone(1, 1.0, 22050), 22050, model, segment_s=1.5)
    with pytest.raises(ParameterError, match="no CUDA device"):
        separate_sources(_tone(1, 1.0, 22050), 22050, model, device="cuda:0")
