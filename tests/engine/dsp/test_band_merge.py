"""to_master_rate: the model's band from the restoration, the band above its Nyquist from the source."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.engine.dsp.band_merge import to_master_rate
from shellac.engine.dsp.resample import resample
from shellac.engine.errors import ParameterError

RATE, MODEL_RATE = 22050, 8000


def _tone_level_db(x: np.ndarray, hz: float) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1.0 / RATE)
    return float(20.0 * np.log10(spec[np.abs(freqs - hz) < 15.0].max()))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    t = np.arange(2 * RATE) / RATE
    source = 0.3 * np.sin(2 * np.pi * 1000.0 * t) + 0.05 * np.sin(2 * np.pi * 9000.0 * t)
    model_input = resample(source, RATE, MODEL_RATE)
    paths = {"source": tmp_path / "source.wav", "model_input": tmp_path / "model_input.wav"}
    sf.write(paths["source"], source.astype(np.float32), RATE, subtype="FLOAT")
    sf.write(paths["model_input"], model_input, MODEL_RATE, subtype="FLOAT")
    return paths


def _restore(files: dict[str, Path], tmp_path: Path, restored: np.ndarray, **kwargs: float
             ) -> tuple[np.ndarray, float | None]:
    path = tmp_path / "restored_model.wav"
    sf.write(path, restored.astype(np.float32), MODEL_RATE, subtype="FLOAT")
    out = tmp_path / "out.wav"
    kept = to_master_rate(path, files["model_input"], files["source"], out, **kwargs)
    assert not list(tmp_path.glob("out_*"))  # its temporary files are gone
    return sf.read(out, dtype="float64")[0], kept


def test_the_model_band_comes_from_the_restoration_and_the_band_above_from_the_source(
        files: dict[str, Path], tmp_path: Path) -> None:
    source = sf.read(files["source"], dtype="float64")[0]
    model_input = sf.read(files["model_input"], dtype="float64")[0]
    doubled, kept = _restore(files, tmp_path, 2.0 * model_input)
    assert kept == MODEL_RATE / 2
    assert doubled.size == source.size
    assert _tone_level_db(doubled, 1000.0) - _tone_level_db(source, 1000.0) == pytest.approx(6.02, abs=0.05)
    assert _tone_level_db(doubled, 9000.0) - _tone_level_db(source, 9000.0) == pytest.approx(0.0, abs=0.05)
    silenced, _ = _restore(files, tmp_path, np.zeros_like(model_input))
    # What the model saw cancels to the resampler's pass-band ripple (about −55 dB here).
    assert _tone_level_db(silenced, 1000.0) < _tone_level_db(source, 1000.0) - 50.0
    assert _tone_level_db(silenced, 9000.0) - _tone_level_db(source, 9000.0) == pytest.approx(0.0, abs=0.05)


def test_a_model_that_changes_nothing_gives_the_source_back(files: dict[str, Path], tmp_path: Path) -> None:
    source = sf.read(files["source"], dtype="float64")[0]
    same, _ = _restore(files, tmp_path, sf.read(files["model_input"], dtype="float64")[0])
    assert np.max(np.abs(same - source)) < 1e-6


def test_chunks_and_a_short_restoration_change_nothing(files: dict[str, Path], tmp_path: Path) -> None:
    model_input = sf.read(files["model_input"], dtype="float64")[0]
    whole, _ = _restore(files, tmp_path, model_input[:-50])
    chunked, _ = _restore(files, tmp_path, model_input[:-50], chunk_s=0.1)
    np.testing.assert_array_equal(whole, chunked)
    assert whole.size == sf.info(files["source"]).frames


def test_at_or_below_the_models_rate_there_is_no_band_to_keep(tmp_path: Path) -> None:
    x = np.sin(np.arange(8000) / 3.0).astype(np.float32)
    for name in ("restored", "model_input", "source"):
        sf.write(tmp_path / f"{name}.wav", x, MODEL_RATE, subtype="FLOAT")
    out = tmp_path / "out.wav"
    assert to_master_rate(tmp_path / "restored.wav", tmp_path / "model_input.wav", tmp_path / "source.wav",
                          out) is None
    np.testing.assert_array_equal(sf.read(out, dtype="float32")[0], x)


def test_stereo_or_mismatched_rates_are_refused(files: dict[str, Path], tmp_path: Path) -> None:
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.zeros((100, 2), np.float32), MODEL_RATE, subtype="FLOAT")
    with pytest.raises(ParameterError, match="mono"):
        to_master_rate(stereo, files["model_input"], files["source"], tmp_path / "out.wav")
    with pytest.raises(ParameterError, match="model's rate"):
        to_master_rate(files["model_input"], files["source"], files["source"], tmp_path / "out.wav")
