"""remix: balance restored, planted lags found and corrected, peak guard, loudness, exact lengths."""

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, sosfilt, sosfiltfilt

from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp.loudness import integrated_loudness, true_peak_dbtp
from shellac.engine.dsp.resample import resample
from shellac.engine.errors import ParameterError
from shellac.stages import remix as remix_stage
from shellac.stages.base import MasterInfo, StageContext
from shellac.stages.models import ModelStore
from shellac.stages.remix import RemixParams, find_lag, remix, rms, run
from shellac.stages.stems import to_layout

SR = 22050


def _stems(seconds: float = 2.0, balance_db: float = 6.0, channels: int = 1):
    """Separated vocals (syllable-gated band noise) and accompaniment (noise), known RMS balance."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    # Aperiodic on purpose: a periodic tone would make the cross-correlation peak ambiguous.
    band = butter(2, [300, 3000], "bandpass", fs=SR, output="sos")
    vocals = sosfilt(band, rng.standard_normal(t.size)) * (1.2 + np.sin(2 * np.pi * 3 * t))
    vocals = np.tile(vocals, (channels, 1))
    accompaniment = rng.standard_normal((channels, t.size))
    vocals *= 0.1 / rms(vocals)
    accompaniment *= 0.1 / rms(accompaniment) * 10 ** (-balance_db / 20)
    return vocals, accompaniment


def _restore(vocals: np.ndarray, delay: int = 0, gain: float = 0.4) -> np.ndarray:
    """A zero-phase 'restoration' that changes level and tone and, optionally, timing."""
    sos = butter(2, 2500, "low", fs=SR, output="sos")
    out = gain * sosfiltfilt(sos, vocals, axis=-1)
    return np.pad(out, ((0, 0), (delay, 0)))[:, : vocals.shape[1]] if delay else out


def test_known_6db_balance_is_restored() -> None:
    vocals, accompaniment = _stems(balance_db=6.0)
    out, report = remix(vocals, accompaniment, _restore(vocals), accompaniment, SR)
    assert report["balance_original_db"] == pytest.approx(6.0, abs=1e-3)
    assert report["balance_before_db"] < 0
    assert report["balance_after_db"] == pytest.approx(6.0, abs=0.1)
    # Measured independently: what is left after removing the accompaniment is the vocals.
    measured = 20 * np.log10(rms(out - accompaniment) / rms(accompaniment))
    assert measured == pytest.approx(6.0, abs=0.1)
    assert out.shape == vocals.shape and out.dtype == np.float32


def test_planted_37_sample_lag_is_found_and_removed() -> None:
    vocals, accompaniment = _stems()
    late = _restore(vocals, delay=37)
    assert find_lag(vocals, late, max_lag=2000, window=10 * SR) == 37
    assert find_lag(vocals, np.pad(late[:, 40:], ((0, 0), (0, 40))), max_lag=2000, window=10 * SR) == -3
    out, report = remix(vocals, accompaniment, late, accompaniment, SR, max_lag_ms=5.0)
    assert report["lag_samples"] == 37 and report["lag_ms"] == pytest.approx(1.678, abs=1e-3)
    assert find_lag(vocals, out[None, 0] - accompaniment, max_lag=2000, window=10 * SR) == 0
    with pytest.raises(ParameterError, match=r"offset by 37 samples \(1.7 ms\).*max_lag_ms=1.0"):
        remix(vocals, accompaniment, late, accompaniment, SR, max_lag_ms=1.0)


def test_peak_guard_and_loudness_target() -> None:
    vocals, accompaniment = _stems(channels=2)
    loud_v, loud_a = 6 * vocals, 6 * accompaniment  # sums well past full scale
    out, report = remix(loud_v, loud_a, loud_v, loud_a, SR, true_peak_ceiling_dbtp=-1.0)
    assert report["peak_gain_db"] < -3 and true_peak_dbtp(out) <= -1.0 + 1e-3
    assert report["true_peak_dbtp"] == pytest.approx(-1.0, abs=0.01)
    out, report = remix(vocals, accompaniment, vocals, accompaniment, SR, loudness_target_lufs=-30.0)
    assert report["peak_gain_db"] == 0.0
    assert integrated_loudness(out, SR) == pytest.approx(-30.0, abs=0.01)
    assert report["loudness_lufs"] == pytest.approx(-30.0, abs=0.01)


def _ctx(tmp_path: Path) -> StageContext:
    stage_dir = tmp_path / "05-remix"
    stage_dir.mkdir()
    return StageContext(recording_id="r", metadata={}, master=MasterInfo(tmp_path / "m.wav"),
                        recording_dir=tmp_path, stage_dir=stage_dir, base_dir=tmp_path,
                        models=ModelStore(tmp_path / "models"))


def test_stage_keeps_the_mix_layout_rate_and_length(tmp_path: Path) -> None:
    vocals, accompaniment = _stems(seconds=2.0, channels=1)
    frames = vocals.shape[1]
    stereo_mix = np.tile(vocals + accompaniment, (2, 1))
    files = {"mix": stereo_mix, "vocals": np.tile(vocals, (2, 1)),
             "accompaniment": np.tile(accompaniment, (2, 1))}
    paths = {}
    for name, audio in files.items():
        paths[name] = tmp_path / f"{name}.wav"
        write_audio(paths[name], audio, SR, bit_depth=32)
    # The restored vocals come back mono, at 44.1 kHz and slightly long, as a generative stage might.
    restored = resample(_restore(vocals), SR, 2 * SR)
    paths["audio"] = tmp_path / "restored.wav"
    write_audio(paths["audio"], np.pad(restored, ((0, 0), (0, 100))), 2 * SR, bit_depth=32)
    output = run(paths, RemixParams(), _ctx(tmp_path))
    out, sr = read_audio(output.artifacts["audio"])
    assert sr == SR and out.shape == (2, frames)
    assert output.metrics["lag_samples"] == 0
    assert output.metrics["balance_after_db"] == pytest.approx(6.0, abs=0.1)
    assert output.metrics["accompaniment_eq"] is False


def test_stage_equalises_accompaniment_towards_a_reference(tmp_path: Path) -> None:
    vocals, accompaniment = _stems(seconds=2.0)
    paths = {}
    for name, audio in {"mix": vocals + accompaniment, "vocals": vocals,
                        "accompaniment": accompaniment, "audio": vocals}.items():
        paths[name] = tmp_path / f"{name}.wav"
        write_audio(paths[name], audio, SR, bit_depth=32)
    ref_dir = tmp_path / "ref"
    sos = butter(2, 1000, "low", fs=SR, output="sos")
    write_audio(ref_dir / "dark.wav", sosfilt(sos, np.random.default_rng(1).standard_normal(3 * SR)),
                SR, bit_depth=32)
    output = run(paths, RemixParams(accompaniment_reference="ref", n_fft=1024), _ctx(tmp_path))
    assert output.metrics["accompaniment_eq"] is True
    assert output.metrics["accompaniment_max_cut_db"] > 10  # white noise cut towards a dark reference
    assert "accompaniment_ltas" in output.artifacts
    assert output.metrics["balance_after_db"] == pytest.approx(6.0, abs=0.1)


def test_unrelated_restoration_is_not_shifted_by_a_spurious_lag() -> None:
    rng = np.random.default_rng(3)
    vocals = rng.standard_normal((1, SR * 3)) * 0.1
    unrelated = rng.standard_normal((1, SR * 3)) * 0.1
    accompaniment = rng.standard_normal((1, SR * 3)) * 0.05
    _, report = remix(vocals, accompaniment, unrelated, accompaniment, SR, max_lag_ms=5.0)
    assert report["lag_samples"] == 0 and report["alignment_measured"] is False
    assert report["alignment_correlation"] < 0.1


# Chunked reading: the stage streams its stems and gives, to the bit, the remix of the whole arrays.
def _chunk_stems(seconds: float, channels: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    band = butter(2, [300, 3000], "bandpass", fs=SR, output="sos")
    vocals = np.tile(sosfilt(band, rng.standard_normal(int(seconds * SR))), (channels, 1)) * 0.3
    return vocals, 0.2 * rng.standard_normal((channels, vocals.shape[1]))


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 2048 frames: a 5-second test recording takes over fifty of them."""
    monkeypatch.setattr(remix_stage, "RMS_BLOCK", 512)
    monkeypatch.setattr(remix_stage, "CHUNK_FRAMES", 2048)


def test_chunks_do_not_change_the_remix(monkeypatch: pytest.MonkeyPatch) -> None:
    vocals, accompaniment = _chunk_stems(5.0, 2)
    late = 0.5 * np.pad(vocals, ((0, 0), (13, 0)))[:, :vocals.shape[1]]
    settings = {"loudness_target_lufs": -6.0, "true_peak_ceiling_dbtp": -3.0}
    monkeypatch.setattr(remix_stage, "RMS_BLOCK", 512)
    whole, whole_report = remix(vocals, accompaniment, late, accompaniment, SR, **settings)  # one chunk
    monkeypatch.setattr(remix_stage, "CHUNK_FRAMES", 2048)
    chunked, chunked_report = remix(vocals, accompaniment, late, accompaniment, SR, **settings)
    np.testing.assert_array_equal(chunked, whole)
    assert chunked_report == whole_report
    assert whole_report["lag_samples"] == 13 and whole_report["peak_gain_db"] < 0


def test_stage_output_is_the_whole_array_remix(tmp_path: Path, small_chunks: None) -> None:
    vocals, accompaniment = _chunk_stems(5.0, 2)
    paths = {name: tmp_path / f"{name}.wav" for name in ("mix", "vocals", "accompaniment", "audio")}
    write_audio(paths["mix"], vocals + accompaniment, SR)
    write_audio(paths["vocals"], vocals, SR)
    write_audio(paths["accompaniment"], accompaniment, SR)
    # Restored vocals come back mono, at twice the rate and a little long, as a generative stage's may.
    restored = resample(0.7 * vocals[:1], SR, 2 * SR)
    write_audio(paths["audio"], np.pad(restored, ((0, 0), (0, 50))), 2 * SR)
    output = run(paths, RemixParams(loudness_target_lufs=-14.0), _ctx(tmp_path))
    streamed, sr = read_audio(output.artifacts["audio"])

    def load(name: str) -> np.ndarray:
        audio, rate = read_audio(paths[name])
        return to_layout(resample(audio, rate, SR), 2, vocals.shape[1])

    accompaniment = load("accompaniment")
    whole, report = remix(load("vocals"), accompaniment, load("audio"), accompaniment, SR,
                          loudness_target_lufs=-14.0)
    assert sr == SR
    np.testing.assert_array_equal(streamed, whole)
    assert {k: output.metrics[k] for k in report} == report
    assert not (tmp_path / "05-remix" / "work").exists()
