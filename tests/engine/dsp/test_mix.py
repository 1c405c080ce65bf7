"""Remix of stems: balance restored, planted lags corrected, peak guard, loudness target, layouts, stem EQ."""

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from shellac.engine.dsp import mix
from shellac.engine.dsp.align import find_lag
from shellac.engine.dsp.levels import rms
from shellac.engine.dsp.loudness import integrated_loudness, true_peak_dbtp
from shellac.engine.dsp.mix import remix
from shellac.engine.errors import ParameterError
from shellac.engine.stems import to_layout
from tests.fixtures.stems import SR, restore, stems


def test_known_6db_balance_is_restored() -> None:
    vocals, accompaniment = stems(balance_db=6.0)
    out, report = remix(vocals, accompaniment, restore(vocals), accompaniment, SR)
    assert report["balance_original_db"] == pytest.approx(6.0, abs=1e-3)
    assert report["balance_before_db"] < 0
    assert report["balance_after_db"] == pytest.approx(6.0, abs=0.1)
    # Measured independently: what is left after removing the accompaniment is the vocals.
    measured = 20 * np.log10(rms(out - accompaniment) / rms(accompaniment))
    assert measured == pytest.approx(6.0, abs=0.1)
    assert out.shape == vocals.shape and out.dtype == np.float32


def test_planted_37_sample_lag_is_removed_and_a_larger_one_refused() -> None:
    vocals, accompaniment = stems()
    late = restore(vocals, delay=37)
    out, report = remix(vocals, accompaniment, late, accompaniment, SR, max_lag_ms=5.0)
    assert report["lag_samples"] == 37 and report["lag_ms"] == pytest.approx(1.678, abs=1e-3)
    assert find_lag(vocals, out[None, 0] - accompaniment, max_lag=2000, window=10 * SR) == 0
    with pytest.raises(ParameterError, match=r"offset by 37 samples \(1.7 ms\).*max_lag_ms=1.0"):
        remix(vocals, accompaniment, late, accompaniment, SR, max_lag_ms=1.0)


def test_peak_guard_and_loudness_target() -> None:
    vocals, accompaniment = stems(channels=2)
    loud_v, loud_a = 6 * vocals, 6 * accompaniment  # sums well past full scale
    out, report = remix(loud_v, loud_a, loud_v, loud_a, SR, true_peak_ceiling_dbtp=-1.0)
    assert report["peak_gain_db"] < -3 and true_peak_dbtp(out) <= -1.0 + 1e-3
    assert report["true_peak_dbtp"] == pytest.approx(-1.0, abs=0.01)
    out, report = remix(vocals, accompaniment, vocals, accompaniment, SR, loudness_target_lufs=-30.0)
    assert report["peak_gain_db"] == 0.0
    assert integrated_loudness(out, SR) == pytest.approx(-30.0, abs=0.01)
    assert report["loudness_lufs"] == pytest.approx(-30.0, abs=0.01)


def test_unrelated_restoration_is_not_shifted_by_a_spurious_lag() -> None:
    rng = np.random.default_rng(3)
    vocals = rng.standard_normal((1, SR * 3)) * 0.1
    unrelated = rng.standard_normal((1, SR * 3)) * 0.1
    accompaniment = rng.standard_normal((1, SR * 3)) * 0.05
    _, report = remix(vocals, accompaniment, unrelated, accompaniment, SR, max_lag_ms=5.0)
    assert report["lag_samples"] == 0 and report["alignment_measured"] is False
    assert report["alignment_correlation"] < 0.1


def test_to_layout_duplicates_folds_trims_and_pads() -> None:
    mono = np.arange(6, dtype=np.float32)[None]
    assert to_layout(mono, 2, 4).tolist() == [[0, 1, 2, 3], [0, 1, 2, 3]]
    stereo = np.stack([np.ones(3), 3 * np.ones(3)])
    assert to_layout(stereo, 1, 5).tolist() == [[2, 2, 2, 0, 0]]
    with pytest.raises(ParameterError, match="cannot map 3 channels"):
        to_layout(np.zeros((3, 4)), 2, 4)


def _chunk_stems(seconds: float, channels: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    band = butter(2, [300, 3000], "bandpass", fs=SR, output="sos")
    vocals = np.tile(sosfilt(band, rng.standard_normal(int(seconds * SR))), (channels, 1)) * 0.3
    return vocals, 0.2 * rng.standard_normal((channels, vocals.shape[1]))


def test_chunks_do_not_change_the_remix(monkeypatch: pytest.MonkeyPatch) -> None:
    vocals, accompaniment = _chunk_stems(5.0, 2)
    late = 0.5 * np.pad(vocals, ((0, 0), (13, 0)))[:, :vocals.shape[1]]
    settings = {"loudness_target_lufs": -6.0, "true_peak_ceiling_dbtp": -3.0}
    monkeypatch.setattr(mix, "RMS_BLOCK", 512)
    whole, whole_report = remix(vocals, accompaniment, late, accompaniment, SR, **settings)  # one chunk
    monkeypatch.setattr(mix, "CHUNK_FRAMES", 2048)
    chunked, chunked_report = remix(vocals, accompaniment, late, accompaniment, SR, **settings)
    np.testing.assert_array_equal(chunked, whole)
    assert chunked_report == whole_report
    assert whole_report["lag_samples"] == 13 and whole_report["peak_gain_db"] < 0
