"""Declicking: planted clicks found and repaired; LSAR beats linear interpolation; long gaps flagged."""

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from shellac.engine.dsp.declick import declick
from shellac.engine.dsp.lsar import fit_ar_blocks, levinson, lsar_fill
from shellac.engine.errors import ParameterError
from shellac.lab.degradation.surface_noise import crackle
from shellac.lab.evaluation.clicks import plant_clicks, score_clicks

SR = 44100


def _music(seconds: float, seed: int = 0, sample_rate: int = SR) -> np.ndarray:
    """Two harmonic voices with slow swells and mild hiss (about -40 dB)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 0.3 * t) ** 2
    a = sum(0.25 / k * np.sin(2 * np.pi * 196 * k * t + rng.uniform(0, 2 * np.pi)) for k in range(1, 10))
    b = sum(0.15 / k * np.sin(2 * np.pi * 293.7 * k * t + rng.uniform(0, 2 * np.pi)) for k in range(1, 7))
    return a * env + b * env * (1 - env) + 0.003 * rng.standard_normal(t.size)


def _plant(x: np.ndarray, n: int, seed: int = 1) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Broadband clicks of 1-30 samples (up to 0.7 ms), amplitude 0.05-0.5, at known places."""
    rng = np.random.default_rng(seed)
    y = x.copy()
    starts = np.sort(rng.choice(np.arange(1000, x.size - 1000, 2000), n, replace=False))
    starts += rng.integers(0, 500, n)
    truth = []
    for s in starts:
        w = int(rng.integers(1, 31))
        y[s:s + w] += rng.uniform(0.05, 0.5) * rng.standard_normal(w) * np.hanning(w + 2)[1:-1]
        truth.append((int(s), w))
    return y, truth


def _overlaps(start: int, length: int, truth: list[tuple[int, int]]) -> bool:
    return any(start < s + w and s < start + length for s, w in truth)


def test_planted_clicks_are_found_and_repaired() -> None:
    x = _music(5.0)
    y, truth = _plant(x, 40)
    out, click_map = declick(y[None], SR)
    found = [(c.start, c.length) for c in click_map.clicks]
    recall = np.mean([any(_overlaps(s, w, [f]) for f in found) for s, w in truth])
    false = [c for c in click_map.clicks if not _overlaps(c.start, c.length, truth)]
    assert recall >= 0.9
    assert len(false) <= 2
    assert all(c.status == "repaired" for c in click_map.clicks)
    # Error left in the clicks and repaired gaps, against the clicks' own energy.
    region = np.zeros(x.size, dtype=bool)
    for s, w in truth + found:
        region[s:s + w] = True
    click_energy = np.sum((y - x) ** 2)
    residual_energy = np.sum((out[0] - x)[region] ** 2)
    # 13.5 dB measured: spans now reach a click's onset and end (the old detector's one-sample
    # spans gave >= 20 dB here, but found 0-2 of the smooth clicks of a 78 chain).
    assert 10 * np.log10(click_energy / residual_energy) >= 12.0
    # Outside the gaps nothing changes.
    np.testing.assert_array_equal(out[0][~region], y[~region])


def test_planted_clicks_on_a_78_chain_are_found() -> None:
    # The evaluator's set-up (issue 15): horn band-pass, saturation, hiss at 25-40 dB SNR,
    # 5-8 clicks of 3-30 samples at 0.2-0.6 peak on music at a 0.5 peak; four seeded excerpts.
    planted = found = false = 0
    seconds = 0.0
    residual = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        excerpt = plant_clicks(_music(2.0, seed=seed), SR, rng, count=(5, 8))
        out, click_map = declick(excerpt.degraded, SR)
        score = score_clicks(excerpt, out, np.array([c.start for c in click_map.clicks], dtype=np.int64),
                             np.array([c.length for c in click_map.clicks], dtype=np.int64))
        planted, found, false = planted + score.planted, found + score.found, false + score.false_alarms
        seconds += score.seconds
        residual.append(score.residual_db - score.input_db)
    # Measured: 24 of 25 found, no false alarm; error in the spans 4-22 dB below the clicks'.
    assert planted == 25
    assert found / planted >= 0.9
    assert false / seconds <= 0.5
    assert max(residual) <= -3.0


def test_planted_clicks_on_a_78_chain_are_found_at_22k() -> None:
    # As above at 22.05 kHz, where a 30-sample click lasts 1.4 ms, smooth and inside the music's
    # band; eight seeded excerpts.
    planted = found = false = 0
    residual = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        excerpt = plant_clicks(_music(2.0, seed=seed, sample_rate=22050), 22050, rng, count=(5, 8))
        out, click_map = declick(excerpt.degraded, 22050)
        score = score_clicks(excerpt, out, np.array([c.start for c in click_map.clicks], dtype=np.int64),
                             np.array([c.length for c in click_map.clicks], dtype=np.int64))
        planted, found, false = planted + score.planted, found + score.found, false + score.false_alarms
        residual.append(score.residual_db - score.input_db)
    # Measured: 52 of 55 found (the order-32, 50 ms detector found 41), no false alarm; error in
    # the spans 9.9-25 dB below the clicks'.
    assert planted == 55
    assert found / planted >= 0.9
    assert false == 0
    assert max(residual) <= -6.0


def _tone(seconds: float, f0: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """A sustained tone of 8 harmonics (1/k amplitudes) at a 0.9 peak, with hiss at -40 dBFS."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k
            for k in range(1, 9) if f0 * k < sample_rate / 2)
    return 0.9 * x / np.max(np.abs(x)) + 0.01 * rng.standard_normal(t.size)


@pytest.mark.parametrize("sample_rate", [22050, 44100])
def test_sustained_tone_gives_no_clicks(sample_rate: int) -> None:
    found = [len(declick(_tone(2.0, f0, sample_rate), sample_rate)[1].clicks) for f0 in (110, 220, 440, 880)]
    assert found == [0, 0, 0, 0]


def test_declipped_tone_gives_almost_no_clicks() -> None:
    # Clipped at 0.6 and the clipped samples redrawn by a cubic spline: each period keeps two
    # imperfect corners, which the AR error marks as sharply as a click. They recur every period,
    # a click does not. Measured: 4 and 0 detections in 2 s (the order-32 detector, without the
    # periodicity test: 107 and 0).
    found = []
    for f0 in (880, 220):
        x = _tone(2.0, f0, 22050)
        clipped = np.abs(x) >= 0.6
        idx = np.arange(x.size)
        declipped = x.copy()
        declipped[clipped] = CubicSpline(idx[~clipped], x[~clipped])(idx[clipped])
        found.append(len(declick(declipped, 22050)[1].clicks))
    assert sum(found) <= 6


def test_dense_crackle_on_harmonic_music_is_found() -> None:
    # 300 ticks/s on two sustained voices: ticks line up with each other at many lags, which must
    # not read as a periodic sound's features. Measured: 91 % of the tick samples inside a
    # detection (92 % without the periodicity test).
    x = _music(2.0, seed=5)
    ticks = crackle(x.size, SR, 300.0, 0.05, np.random.default_rng(5))
    _, click_map = declick(x + ticks, SR)
    covered = np.zeros(x.size, dtype=bool)
    for c in click_map.clicks:
        covered[c.start:c.start + c.length] = True
    assert covered[ticks != 0].mean() >= 0.88


def test_clean_music_gives_no_clicks() -> None:
    x = _music(5.0, seed=3)
    out, click_map = declick(x[None], SR)
    assert len(click_map.clicks) == 0
    np.testing.assert_array_equal(out, x[None])


def test_long_burst_is_flagged_for_inpainting_and_left_alone() -> None:
    x = _music(2.0)
    y = x.copy()
    rng = np.random.default_rng(7)
    y[40000:40441] += 0.3 * rng.standard_normal(441)  # 10 ms of scratch
    out, click_map = declick(y[None], SR, max_gap_ms=3.0, long_gaps="inpaint")
    # Found in pieces (each bracket spans at most click_ms), all of them left to inpainting.
    burst = [c for c in click_map.clicks if c.start < 40441 and 40000 < c.start + c.length]
    assert all(c.status == "needs_inpainting" for c in burst)
    assert burst[0].start <= 40010 and burst[-1].start + burst[-1].length >= 40430
    np.testing.assert_array_equal(out[0, 40000:40441], y[40000:40441])
    d = click_map.to_dict()
    assert d["counts"]["needs_inpainting"] >= len(burst)
    entry = next(c for c in d["clicks"] if c["status"] == "needs_inpainting")
    assert entry["start_s"] == pytest.approx(entry["start_sample"] / SR, abs=1e-6)


def test_long_burst_is_filled_when_no_inpainting_follows() -> None:
    # The default (long_gaps="lsar"): a chain without an inpaint stage must not hand a scratch
    # to the equaliser. The burst's pieces become one span, within the 12 ms cluster limit, and
    # LSAR fills all of it (measured: 6.4 dB less error than the scratch left in place).
    x = _music(2.0)
    y = x.copy()
    y[40000:40441] += 0.3 * np.random.default_rng(7).standard_normal(441)
    out, click_map = declick(y[None], SR, max_gap_ms=3.0)
    burst = [c for c in click_map.clicks if c.start < 40441 and 40000 < c.start + c.length]
    assert burst and all(c.status == "repaired" for c in burst)
    before = np.sum((y[40000:40441] - x[40000:40441]) ** 2)
    after = np.sum((out[0, 40000:40441] - x[40000:40441]) ** 2)
    assert 10 * np.log10(after / before) < -6.0
    assert click_map.settings["long_gaps"] == "lsar"


def test_stereo_shares_one_map_and_keeps_shape() -> None:
    x = _music(2.0)
    y, truth = _plant(x, 8, seed=4)
    stereo = np.stack([y, 0.8 * y]).astype(np.float32)
    out, click_map = declick(stereo, SR)
    assert out.shape == stereo.shape and out.dtype == np.float32
    assert len(click_map.clicks) >= 7


def test_levinson_recovers_an_ar2_model() -> None:
    # AR(2) x[n] = 1.6 x[n-1] - 0.8 x[n-2] + e[n]: its exact autocorrelation gives back the model.
    a1, a2 = 1.6, -0.8
    r0 = (1 - a2) / ((1 + a2) * ((1 - a2) ** 2 - a1**2))
    r1 = a1 * r0 / (1 - a2)
    r2 = a1 * r1 + a2 * r0
    coeffs, err = levinson(np.array([[r0, r1, r2]]), 2)
    np.testing.assert_allclose(coeffs[0], [a1, a2], rtol=1e-4)  # white-noise correction
    assert err[0] == pytest.approx(1.0, rel=1e-4)


def _fill_errors(x: np.ndarray, gap: int, order: int) -> tuple[float, float]:
    coeffs = fit_ar_blocks(x, order, 2048)
    lsar_err, lin_err, energy = 0.0, 0.0, 0.0
    for s in range(4096, x.size - 4096, 3001):
        missing = np.zeros(x.size, dtype=bool)
        missing[s:s + gap] = True
        filled = lsar_fill(x, missing, np.array([s]), np.array([s + gap]), coeffs[[s // 2048]])
        linear = np.interp(np.arange(s, s + gap), [s - 1, s + gap], [x[s - 1], x[s + gap]])
        lsar_err += np.sum((filled[s:s + gap] - x[s:s + gap]) ** 2)
        lin_err += np.sum((linear - x[s:s + gap]) ** 2)
        energy += np.sum(x[s:s + gap] ** 2)
    return 10 * np.log10(energy / lsar_err), 10 * np.log10(energy / lin_err)


def test_lsar_restores_a_sinusoid_far_better_than_linear() -> None:
    t = np.arange(SR) / SR
    x = 0.5 * np.sin(2 * np.pi * 1000 * t + 0.3)
    lsar_snr, lin_snr = _fill_errors(x, gap=40, order=8)
    assert lsar_snr > 50.0 and lin_snr < 0.0


def test_lsar_restores_an_ar_process_better_than_linear() -> None:
    rng = np.random.default_rng(2)
    e = rng.standard_normal(SR)
    x = np.zeros(SR)
    for n in range(2, SR):  # resonance near 2.8 kHz, pole radius 0.98
        x[n] = 2 * 0.98 * np.cos(0.4) * x[n - 1] - 0.98**2 * x[n - 2] + e[n]
    lsar_snr, lin_snr = _fill_errors(x, gap=8, order=8)
    assert lsar_snr > lin_snr + 6.0


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ParameterError, match="too short for order"):
        declick(np.zeros(SR), SR, order=128, block_ms=5.0)
    with pytest.raises(ParameterError, match="shorter than one AR block"):
        declick(np.zeros(100), SR)
