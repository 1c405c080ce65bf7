"""Surface noise: hiss at the requested SNR, clicks exactly where reported, crackle density."""

import numpy as np
import pytest
from scipy.signal import welch

from shellac.lab.degradation import (
    DegradationParams,
    clicks,
    crackle,
    degrade,
    shaped_hiss,
)

SR = 16000


@pytest.mark.parametrize("snr_db", [10.0, 25.0, 40.0])
def test_hiss_snr_in_full_chain_within_half_db(snr_db: float) -> None:
    x = 0.3 * np.sin(2 * np.pi * 440.0 * np.arange(SR * 3) / SR)
    params = DegradationParams(hiss_snr_db=snr_db, click_rate_hz=0.0, crackle_rate_hz=0.0)
    result = degrade(x, SR, params, np.random.default_rng(0))
    music = result.audio - result.noise
    measured = 10.0 * np.log10(np.mean(music**2) / np.mean(result.noise**2))
    assert abs(measured - snr_db) < 0.5


def test_hiss_tilt_follows_db_per_octave() -> None:
    hiss = shaped_hiss(SR * 20, SR, 1.0, 0.0, -3.0, np.random.default_rng(1))
    np.testing.assert_allclose(np.mean(hiss**2), 1.0, rtol=1e-9)
    f, p = welch(hiss, SR, nperseg=2048)
    level = lambda hz: 10.0 * np.log10(np.mean(p[(f > hz / 1.2) & (f < hz * 1.2)]))  # noqa: E731
    assert abs((level(4000.0) - level(1000.0)) - (-6.0)) < 0.5


def test_click_positions_are_where_the_impulses_are() -> None:
    params = DegradationParams(
        hiss_snr_db=None, crackle_rate_hz=0.0, click_rate_hz=8.0,
        click_width_ms=(0.1, 2.0), click_amplitude=(0.2, 0.5), drive_db=0.0,
    )
    result = degrade(np.zeros(SR * 4), SR, params, np.random.default_rng(5))
    pos, widths = result.click_positions_samples, result.click_widths_samples
    assert 15 <= pos.size <= 50  # Poisson around 32
    mask = np.zeros(result.audio.size, dtype=bool)
    for p, w in zip(pos, widths, strict=True):
        mask[p : p + w] = True
        segment = np.abs(result.audio[p : p + w])
        assert segment.max() >= 0.2 - 1e-9  # every reported click carries its amplitude
        assert 1 <= w <= int(round(2e-3 * SR))
    assert np.all(result.audio[~mask] == 0.0)  # and nothing outside the reported spans
    assert np.all(np.diff(pos) >= widths[:-1])  # spans are disjoint and sorted
    info = result.to_json()
    np.testing.assert_allclose(info["click_positions_s"], pos / SR, atol=1e-6)


def test_clicks_respect_width_and_amplitude_ranges() -> None:
    c = clicks(SR * 10, SR, 5.0, (0.5, 1.0), (0.3, 0.4), np.random.default_rng(2))
    assert c.positions_samples.size > 20
    assert c.widths_samples.min() >= int(0.5e-3 * SR) and c.widths_samples.max() <= SR // 1000
    assert np.all((np.abs(c.amplitudes) >= 0.3) & (np.abs(c.amplitudes) <= 0.4))
    assert np.isclose(np.abs(c.signal).max(), np.abs(c.amplitudes).max())


def test_crackle_is_dense_and_small() -> None:
    out = crackle(SR * 10, SR, 500.0, 0.01, np.random.default_rng(4))
    ticks = np.count_nonzero(np.abs(out) > 1e-6)
    assert 4000 < ticks < 11000  # ~5000 ticks of 1-2 samples each
    assert np.median(np.abs(out[np.abs(out) > 0.005])) < 0.03
