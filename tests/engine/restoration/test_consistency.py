"""Noise-aware data consistency: the noise floor it assumes, the bins it keeps, chunking, checkpoints."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.signal import butter, get_window, istft, sosfilt, stft

from shellac.engine.errors import ParameterError
from shellac.engine.models.bundle import load_bundle
from shellac.engine.restoration import consistency
from shellac.engine.restoration.babe2 import Babe2Settings, restore
from shellac.engine.restoration.consistency import N_FFT, noise_floor, posterior_fuse
from shellac.engine.restoration.settings import SamplerSettings
from shellac.lab.evaluation.metrics import lsd
from tests.fixtures.bundles import make_tiny_bundle

SR = 16000


def _window_scale() -> float:
    w = get_window("hann", N_FFT)
    return float(np.sum(w**2) / np.sum(w) ** 2)  # scipy's "spectrum" scaling of white noise of unit power


def test_noise_floor_of_white_noise_is_its_power() -> None:
    rng = np.random.default_rng(0)
    noise = 0.01 * rng.standard_normal(10 * SR)
    floor = noise_floor(noise)
    expected = 1e-4 * _window_scale()
    inner = floor[5:-5]  # DC and Nyquist bins are real-valued (chi-square with one degree of freedom)
    assert np.median(inner) == pytest.approx(expected, rel=0.05)
    # A 10 % quantile of about 160 independent frames per bin: each bin within −40 % … +50 %.
    assert inner.min() > 0.6 * expected and inner.max() < 1.5 * expected


def test_noise_floor_refuses_a_signal_shorter_than_a_window() -> None:
    with pytest.raises(ParameterError, match="at least 1024 samples"):
        noise_floor(np.zeros(N_FFT - 1))


def _scene(seconds: float = 4.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clean notes with partials up to 6 kHz; observed through a 2 kHz low-pass plus hiss."""
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * SR)) / SR
    envelope = np.exp(-3.0 * (t % 0.5))  # a note every 0.5 s
    clean = sum(0.3 / k * np.sin(2 * np.pi * 330.0 * k * t) for k in range(1, 19)) * envelope
    lowpass = butter(8, 2000.0, fs=SR, output="sos")
    observed = sosfilt(lowpass, clean) + 3e-3 * rng.standard_normal(t.size)
    return clean, observed, lowpass


def test_posterior_keeps_clean_observation_and_generated_stop_band() -> None:
    clean, observed, _ = _scene()
    out = np.zeros_like(observed)
    # An oracle prior sample: the clean signal itself.
    report = posterior_fuse(observed, clean, SR, out)
    # Better than the observation alone (whose top octaves hold only hiss) on every measure.
    assert lsd(clean, out) < lsd(clean, observed) - 3.0
    # The residual response it finds: flat where the observation is clean, nothing above the low-pass
    # (8th-order Butterworth at 2 kHz: −48 dB at 4 kHz; third-octave smoothing spreads the edge), so there
    # the generated content stays.
    bands = {b["low_hz"]: b for b in report.bands}
    assert abs(bands[250.0]["residual_response_db"]) < 1.0
    assert bands[4000.0]["residual_response_db"] < -20.0 and bands[4000.0]["observed_share"] < 0.02
    high = butter(8, 4000.0, btype="high", fs=SR, output="sos")
    assert np.std(sosfilt(high, out - clean)) < 0.1 * np.std(sosfilt(high, clean))
    # Where the notes' partials stand clear of the hiss, the output takes the observation.
    assert bands[250.0]["observed_share"] > 0.05
    assert report.gain == pytest.approx(1.0, abs=0.05)  # the oracle sample is at the observation's level


def test_silent_prior_gives_the_wiener_estimate() -> None:
    """A generated sample with nothing in a band leaves nothing there: G = 0 and no sample to add."""
    clean, observed, lowpass = _scene(2.0)
    generated = sosfilt(lowpass, clean)  # the prior 'says' nothing above 2 kHz
    out = np.zeros_like(observed)
    posterior_fuse(observed, generated, SR, out)
    high = butter(8, 4000.0, btype="high", fs=SR, output="sos")
    # The hiss above 4 kHz is gone (it was 3e-3 white: about 1.6e-3 rms above 4 kHz).
    assert np.std(sosfilt(high, out)[SR // 4:]) < 2e-4 < np.std(sosfilt(high, observed)[SR // 4:])


def test_chunked_fusion_equals_whole_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    clean, observed, _ = _scene(3.0)
    whole = np.zeros_like(observed)
    posterior_fuse(observed, clean, SR, whole)
    monkeypatch.setattr(consistency, "CHUNK_FRAMES", 5 * 1024)
    chunked = np.zeros_like(observed)
    posterior_fuse(observed, clean, SR, chunked)
    np.testing.assert_allclose(chunked, whole, atol=1e-9)


def test_signals_of_different_lengths_are_refused() -> None:
    with pytest.raises(ParameterError, match="one length"):
        posterior_fuse(np.zeros(4096), np.zeros(4000), SR, np.zeros(4096))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("consistency")
    make_tiny_bundle(root / "models", "tiny", sample_rate=8000, segment_length=4096)
    _, observed, _ = _scene(1.6)
    sf.write(root / "in.wav", observed[::2].astype(np.float32), 8000, subtype="FLOAT")
    return root / "models" / "tiny", root / "in.wav"


SETTINGS = Babe2Settings(sampler=SamplerSettings(n_steps=3, sigma_start=0.5, sigma_min=1e-4, rho=13.0, xi=1.0,
                                                 sigma_y=0.1, s_churn=1.0), filter_iters=3, seed=3,
                        ltas_eq_init=False, ltas_eq_objective=False)


def test_consistency_runs_after_the_blocks_and_keeps_their_checkpoints(tiny: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
    torch.set_num_threads(1)
    bundle = load_bundle(tiny[0])
    plain = restore(tiny[1], bundle, SETTINGS, work=tmp_path / "a", checkpoints=tmp_path / "blocks")
    sampled = np.array(plain.restored)
    fused = restore(tiny[1], bundle, replace(SETTINGS, consistency="posterior"), work=tmp_path / "b",
                    checkpoints=tmp_path / "blocks")
    assert fused.resumed_blocks == len(fused.reports) == len(plain.reports)
    assert plain.consistency is None and "consistency" not in plain.filters_json()
    assert fused.filters_json()["consistency"]["method"] == "posterior"
    # The fusion is exactly posterior_fuse of the guidance target and the blocks' output.
    expected = np.zeros_like(sampled)
    observed = sf.read(tiny[1], dtype="float64")[0]
    posterior_fuse(observed, sampled, 8000, expected)
    np.testing.assert_allclose(np.array(fused.restored), expected.astype(np.float32), atol=1e-6)


def test_reference_preset_refuses_consistency(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="consistency must be 'none'"):
        restore(tiny[1], load_bundle(tiny[0]), replace(SETTINGS, preset="reference", consistency="posterior"),
                work=tmp_path)


def test_prior_correction_removes_a_known_bias_of_the_prior() -> None:
    """A prior 20 dB too loud above 3 kHz, corrected by its measured bias, gives the unbiased result."""
    clean, observed, _ = _scene(2.0)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SR)
    boost = np.where(freqs > 3000.0, 10.0, 1.0)  # +20 dB in amplitude
    spec = stft(clean, window="hann", nperseg=N_FFT, noverlap=N_FFT - 256)[2] * boost[:, None]
    biased = istft(spec, window="hann", nperseg=N_FFT, noverlap=N_FFT - 256)[1][:clean.size]
    unbiased, corrected, uncorrected = (np.zeros_like(observed) for _ in range(3))
    posterior_fuse(observed, clean, SR, unbiased)
    report = posterior_fuse(observed, biased, SR, corrected, prior_correction=1.0 / boost)
    posterior_fuse(observed, biased, SR, uncorrected)
    assert report.corrected and report.to_json()["spectral_bias_corrected"] is True
    # (The boosted spectrum is not exactly an STFT of any signal, so the match is close, not exact.)
    assert np.std(corrected - unbiased) < 0.1 * np.std(uncorrected - unbiased)
    with pytest.raises(ParameterError, match="513 bins"):
        posterior_fuse(observed, clean, SR, corrected, prior_correction=np.ones(10))


def _brighter(signal: np.ndarray, above_hz: float, amplitude: float) -> np.ndarray:
    """``signal`` with every STFT bin above ``above_hz`` multiplied by ``amplitude``."""
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SR)
    spec = stft(signal, window="hann", nperseg=N_FFT, noverlap=N_FFT - 256)[2]
    spec *= np.where(freqs > above_hz, amplitude, 1.0)[:, None]
    return istft(spec, window="hann", nperseg=N_FFT, noverlap=N_FFT - 256)[1][:signal.size]


def test_anchored_form_levels_a_too_bright_prior_to_the_observation_at_the_edge() -> None:
    """A prior 20 dB too bright over the whole upper register (the anchor band too): the anchored form
    keeps the observation where it holds signal and brings the generated band down to the observation's
    level at the edge; the posterior form takes the prior's envelope and stays 20 dB too bright."""
    clean, observed, _ = _scene()
    bright = _brighter(clean, 1000.0, 10.0)
    anchored, posterior = np.zeros_like(observed), np.zeros_like(observed)
    report = posterior_fuse(observed, bright, SR, anchored, form="anchored")
    posterior_fuse(observed, bright, SR, posterior)
    high = butter(8, 4000.0, btype="high", fs=SR, output="sos")
    clean_high = np.std(sosfilt(high, clean))
    assert np.std(sosfilt(high, anchored)) == pytest.approx(clean_high, rel=0.3)
    assert np.std(sosfilt(high, posterior)) > 5.0 * clean_high
    entry = report.to_json()
    assert entry["method"] == "anchored" and "max_residual_gain_db" not in entry
    anchors = entry["anchors"]
    # The 8th-order 2 kHz low-pass: the observation holds signal up to about 2 kHz, over the hiss.
    assert 1800.0 < anchors["signal_high_hz"] < 3000.0 and anchors["signal_low_hz"] < 400.0
    assert anchors["high_db"] == pytest.approx(-20.0, abs=3.0)  # the prior's excess at the edge, undone
    assert anchors["low_db"] == pytest.approx(0.0, abs=1.0) and anchors["low_db"] > anchors["level_db"]
    bands = {b["low_hz"]: b for b in report.bands}
    # H is 1 in the bins with signal (a few between the partials hold only hiss), 0 above the range.
    assert -1.0 < bands[250.0]["residual_response_db"] <= 0.0 and bands[4000.0]["observed_share"] == 0.0
    # In the pass band the output is the observation (the posterior form reshapes it to the prior's envelope).
    low = butter(8, 1500.0, fs=SR, output="sos")
    assert np.std(sosfilt(low, anchored - observed)) < 0.05 * np.std(sosfilt(low, observed))
    assert np.std(sosfilt(low, posterior - observed)) > 0.5 * np.std(sosfilt(low, observed))


def test_an_unknown_form_is_refused() -> None:
    with pytest.raises(ParameterError, match="form must be one of"):
        posterior_fuse(np.zeros(4096), np.zeros(4096), SR, np.zeros(4096), form="wiener")


def test_anchored_ltas_form_shapes_the_generated_band_like_the_reference() -> None:
    """A prior whose generated band beyond the signal range is far brighter than the reference says a
    piano is there: `anchored` keeps the prior's balance above the edge, `anchored-ltas` makes it fall off
    as the reference does; inside the signal range both keep the observation."""
    clean, observed, _ = _scene()
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SR)
    # The reference falls 24 dB per octave above 2 kHz; the prior (here the clean notes) does not.
    reference = np.where(freqs > 2000.0, (np.maximum(freqs, 1.0) / 2000.0) ** -8.0, 1.0)
    plain, shaped = np.zeros_like(observed), np.zeros_like(observed)
    posterior_fuse(observed, clean, SR, plain, form="anchored")
    report = posterior_fuse(observed, clean, SR, shaped, form="anchored-ltas", reference_power=reference)
    high = butter(8, 4000.0, btype="high", fs=SR, output="sos")
    # Above 4 kHz, an octave and more beyond the edge: about 22 dB down on the plain anchored band.
    ratio_db = 20 * np.log10(np.std(sosfilt(high, shaped)) / np.std(sosfilt(high, plain)))
    assert -30.0 < ratio_db < -18.0
    low = butter(8, 1500.0, fs=SR, output="sos")
    assert np.std(sosfilt(low, shaped - plain)) < 1e-3 * np.std(sosfilt(low, plain))
    anchors = report.to_json()["anchors"]
    assert anchors["reference_shape_min_db"] < -30.0
    assert report.to_json()["method"] == "anchored-ltas"


@pytest.mark.parametrize("form", ["anchored", "posterior"])
def test_floor_keeps_generated_content_under_the_observation_where_it_holds_only_noise(form: str) -> None:
    """Where the observation is only hiss (above its 2 kHz cut), either form lets the prior's partials in
    far above the hiss; with the floor they come down to the hiss's own level, bin by bin (never up), and
    every bin that holds signal stays exactly as without it."""
    clean, observed, _ = _scene()
    plain, floored = np.zeros_like(observed), np.zeros_like(observed)
    posterior_fuse(observed, clean, SR, plain, form=form)
    report = posterior_fuse(observed, clean, SR, floored, form=form, floor=True)
    high = butter(8, 4000.0, btype="high", fs=SR, output="sos")
    hiss = np.std(sosfilt(high, observed))
    assert np.std(sosfilt(high, plain)) > 3.0 * hiss  # the prior's partials, 10 dB and more over the hiss
    # Never louder than the hiss; bins between the prior's partials stay as quiet as the prior made them.
    assert 0.5 * hiss < np.std(sosfilt(high, floored)) <= 1.05 * hiss
    low = butter(8, 1500.0, fs=SR, output="sos")
    assert np.std(sosfilt(low, floored - plain)) < 1e-2 * np.std(sosfilt(low, plain))
    entry = report.to_json()
    assert entry["method"] == form and entry["floor"] is True
    # Bins above about 2 kHz of the 512 above DC (8 kHz Nyquist), and hiss-only bins between low partials.
    assert 300 < entry["floored_bins"] < 512
    assert posterior_fuse(observed, clean, SR, plain, form=form).to_json()["floor"] is False


def test_floor_gain_only_lowers_and_only_where_h_is_zero() -> None:
    stats = consistency._Statistics(noise=np.ones(4), observed_power=np.array([1.0, 1.0, 4.0, 1.0]),
                                    generated_power=np.array([4.0, 4.0, 1.0, 1.0]))
    h = np.array([1.0, 0.0, 0.0, 0.0])
    amplitude, n = consistency.floor_gain(stats, h, np.full(4, 1.5))
    # Bin 0 holds signal: untouched. Bins 1-3 hold noise (counted, DC aside): bin 1 comes down to
    # sqrt(1/4), bin 3 to sqrt(1/1); bin 2 would allow sqrt(4/1) = 2, so its 1.5 stays (never up).
    assert np.allclose(amplitude, [1.5, 0.5, 1.5, 1.0]) and n == 3


def test_floor_margin_raises_the_limit_by_its_db_and_never_lifts() -> None:
    stats = consistency._Statistics(noise=np.ones(4), observed_power=np.array([1.0, 1.0, 4.0, 1.0]),
                                    generated_power=np.array([4.0, 4.0, 1.0, 1.0]))
    h = np.array([1.0, 0.0, 0.0, 0.0])
    amplitude, n = consistency.floor_gain(stats, h, np.full(4, 1.5), margin_db=6.0)
    # 6 dB lets each limit rise by 10**(6/20) = 1.995: bin 1 to 0.998, bin 3 to 1.995 (so its 1.5 stays);
    # bin 0 holds signal and bin 2 was never limited.
    assert np.allclose(amplitude, [1.5, 0.5 * 10 ** 0.3, 1.5, 1.5]) and n == 3
    with pytest.raises(ParameterError, match="at least 0"):
        consistency.floor_gain(stats, h, np.full(4, 1.5), margin_db=-1.0)


def test_floor_margin_lets_the_generated_band_stand_that_far_over_the_hiss() -> None:
    """Where the observation is only hiss, a 10 dB margin lets the prior's partials stand up to 10 dB over
    it in their bins (the floor at 0 dB holds them at the hiss); the bins between them stay as quiet as the
    prior made them, and bins holding signal are the same either way."""
    clean, observed, _ = _scene()
    level, raised = np.zeros_like(observed), np.zeros_like(observed)
    posterior_fuse(observed, clean, SR, level, form="anchored", floor=True)
    report = posterior_fuse(observed, clean, SR, raised, form="anchored", floor=True, floor_margin_db=10.0)
    high = butter(8, 4000.0, btype="high", fs=SR, output="sos")
    hiss = np.std(sosfilt(high, observed))
    below, above = np.std(sosfilt(high, level)), np.std(sosfilt(high, raised))
    assert below <= 1.05 * hiss
    assert 1.15 * below < above <= 1.05 * 10 ** 0.5 * hiss
    low = butter(8, 1500.0, fs=SR, output="sos")
    assert np.std(sosfilt(low, raised - level)) < 1e-2 * np.std(sosfilt(low, level))
    assert report.to_json()["floor_margin_db"] == 10.0
    with pytest.raises(ParameterError, match="set floor too"):
        posterior_fuse(observed, clean, SR, raised, form="anchored", floor_margin_db=10.0)


def test_reference_shape_only_lowers_and_follows_the_reference_from_each_edge() -> None:
    bins = np.arange(10)
    generated = np.full(10, 4.0)
    reference = np.array([0.01, 0.1, 1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 10.0, 0.001])
    high_edge, low_edge = (bins == 6), (bins == 2)
    shape = consistency._reference_shape(reference, generated, high_edge, low_edge, bins > 6, bins < 2)
    # Beyond the top: 10 dB down, then left alone where the reference rises (never above 1), then 30 dB down.
    assert np.allclose(shape, [0.01, 0.1, 1, 1, 1, 1, 1, 0.1, 1.0, 0.001])


def test_anchored_ltas_needs_the_reference_on_the_bins() -> None:
    x = np.zeros(4096)
    with pytest.raises(ParameterError, match="needs the reference LTAS"):
        posterior_fuse(x, x, SR, np.zeros(4096), form="anchored-ltas")
    with pytest.raises(ParameterError, match="needs the reference LTAS"):
        posterior_fuse(x, x, SR, np.zeros(4096), form="anchored-ltas", reference_power=np.ones(10))


@pytest.mark.parametrize(("form", "tolerance_db"), [("anchored", 1.0), ("posterior", 6.0)])
def test_evidence_keeps_an_observed_partial_the_sample_put_elsewhere(form: str, tolerance_db: float) -> None:
    # The observation holds a clear 440 Hz note (40 dB over the hiss); the prior's sample played 523 Hz.
    # With ``evidence`` the prior's power in a cell is at least what the observation shows there: the
    # observed note stays, and the sample's note, where the observation holds only hiss, is left to the
    # sample. Without it the Wiener gain follows the quiet sample to 0 and the observed note is gone.
    # (The posterior form divides the observation by the residual response it fits, H ≠ 1 here: its
    # level may move by that much.)
    rng = np.random.default_rng(3)
    t = np.arange(3 * SR) / SR
    observed = 0.3 * np.sin(2 * np.pi * 440.0 * t) + 3e-3 * rng.standard_normal(t.size)
    generated = 0.3 * np.sin(2 * np.pi * 523.25 * t) + 3e-3 * rng.standard_normal(t.size)

    def level(x: np.ndarray, f0: float) -> float:
        spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
        freqs = np.fft.rfftfreq(x.size, 1.0 / SR)
        return float(20 * np.log10(spec[np.abs(freqs - f0) < 5.0].max()))

    out, plain = np.zeros_like(observed), np.zeros_like(observed)
    report = posterior_fuse(observed, generated, SR, out, form=form, evidence=True)
    posterior_fuse(observed, generated, SR, plain, form=form)
    assert report.to_json()["evidence"] is True
    assert abs(level(out, 440.0) - level(observed, 440.0)) < tolerance_db
    assert level(plain, 440.0) < level(observed, 440.0) - 10.0  # 13.9 and 12.6 dB lower when written
    for fused in (out, plain):
        assert level(fused, 523.25) > level(observed, 523.25) + 20.0  # the sample's note, over the hiss
        assert level(fused, 523.25) < level(generated, 523.25) + 1.0


def _smoothed_db(x: np.ndarray) -> np.ndarray:
    """Third-octave-smoothed mean power per bin of the correction's STFT, dB."""
    from shellac.engine.dsp.ltas import third_octave_smooth

    power = np.mean(np.abs(stft(x, window="hann", nperseg=N_FFT, noverlap=N_FFT - consistency.HOP)[2]) ** 2,
                    axis=1)
    return 10.0 * np.log10(third_octave_smooth(power, SR, N_FFT) + 1e-30)


def _too_bright(clean: np.ndarray, db: float) -> np.ndarray:
    """``clean`` raised by ``db`` above 1.2 kHz, rising from 0 dB at 600 Hz (zero phase): a prior's
    brighter balance."""
    freqs = np.fft.rfftfreq(clean.size, 1.0 / SR)
    ramp = np.clip(np.log2(np.maximum(freqs, 1.0) / 600.0), 0.0, 1.0) * db
    return np.fft.irfft(np.fft.rfft(clean) * 10.0 ** (ramp / 20.0), clean.size)


def test_balance_gives_the_output_the_observations_balance_where_it_holds_signal() -> None:
    clean, observed, _ = _scene()
    generated = _too_bright(clean, 4.0)
    freqs = consistency.bin_frequencies(SR)
    passband = (freqs >= 300.0) & (freqs <= 1800.0)
    above = freqs >= 4000.0  # the observation holds only hiss there: the generated band stays
    before = _smoothed_db(generated) - _smoothed_db(observed)
    assert np.max(before[passband & (freqs >= 1300.0)]) > 3.0
    out = generated.copy()
    report = consistency.rebalance(observed, out, SR, 1.0)
    after = _smoothed_db(out) - _smoothed_db(observed)
    assert np.max(np.abs(after[passband])) < 0.5
    np.testing.assert_allclose(_smoothed_db(out)[above], _smoothed_db(generated)[above], atol=0.2)
    assert report["share"] == 1.0 and report["limit_db"] == consistency.BALANCE_LIMIT_DB
    # The gains cut the brighter band (and the observation's low-pass skirt, down to the limit) and no more.
    assert report["min_gain_db"] == -consistency.BALANCE_LIMIT_DB and report["max_gain_db"] < 1.0
    assert report["bins_changed"] > 20
    # Half the share: half the move, in dB.
    half = generated.copy()
    consistency.rebalance(observed, half, SR, 0.5)
    at = passband & (freqs >= 1300.0)
    np.testing.assert_allclose(_smoothed_db(half)[at] - _smoothed_db(generated)[at],
                               0.5 * (_smoothed_db(out)[at] - _smoothed_db(generated)[at]), atol=0.3)


def test_balance_gain_stops_at_its_limit() -> None:
    clean, observed, _ = _scene()
    loud = 10.0 ** (10.0 / 20.0) * clean  # 10 dB too loud everywhere
    out = loud.copy()
    report = consistency.rebalance(observed, out, SR, 1.0)
    assert report["min_gain_db"] == pytest.approx(-consistency.BALANCE_LIMIT_DB)
    freqs = consistency.bin_frequencies(SR)
    band = (freqs >= 400.0) & (freqs <= 1500.0)
    np.testing.assert_allclose(_smoothed_db(out)[band] - _smoothed_db(loud)[band],
                               -consistency.BALANCE_LIMIT_DB, atol=0.3)


def test_chunked_balance_equals_whole_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    clean, observed, _ = _scene(3.0)
    whole = _too_bright(clean, 4.0)
    chunked = whole.copy()
    consistency.rebalance(observed, whole, SR, 1.0)
    monkeypatch.setattr(consistency, "CHUNK_FRAMES", 5 * 1024)
    consistency.rebalance(observed, chunked, SR, 1.0)
    np.testing.assert_allclose(chunked, whole, atol=1e-9)


def _bin_db(x: np.ndarray) -> np.ndarray:
    """Mean power per bin of the correction's STFT, dB."""
    power = np.mean(np.abs(stft(x, window="hann", nperseg=N_FFT, noverlap=N_FFT - consistency.HOP)[2]) ** 2,
                    axis=1)
    return 10.0 * np.log10(power + 1e-30)


def test_smooth_balance_draws_no_line_where_a_lone_bin_beyond_the_cut_off_clears_the_signal_test() -> None:
    """A steady faint tone in the observation's hiss band, above its 2 kHz cut-off, and a prior that
    generated next to nothing there: bin by bin the tone's bin takes the band's gain (over 3 dB) and
    the output gets a steady line; the smooth curve moves that bin with its band (by the tone's share of
    the band's power), and in the pass band moves the long-term balance as bin by bin does."""
    clean, observed, _ = _scene()
    t = np.arange(observed.size) / SR
    tone_hz = 5453.1  # between the clean partials (16 × 330, 17 × 330 Hz), on a bin's centre
    observed = observed + 2e-3 * np.sin(2 * np.pi * tone_hz * t)
    generated = sosfilt(butter(16, 3000.0, fs=SR, output="sos"), _too_bright(clean, 4.0))
    freqs = consistency.bin_frequencies(SR)
    tone = int(np.argmin(np.abs(freqs - tone_hz)))
    by_bin, smooth = generated.copy(), generated.copy()
    report = consistency.rebalance(observed, by_bin, SR, 1.0)
    smooth_report = consistency.rebalance(observed, smooth, SR, 1.0, smooth=True)
    assert report["smooth"] is False and smooth_report["smooth"] is True
    line = _bin_db(by_bin) - _bin_db(generated)
    assert 3.0 < line[tone] <= consistency.BALANCE_LIMIT_DB + 0.1
    neighbours = np.r_[tone - 12:tone - 3, tone + 4:tone + 13]
    assert np.max(np.abs(line[neighbours])) < 0.3  # a line: its neighbours keep gain 1
    moved = _bin_db(smooth) - _bin_db(generated)
    assert abs(moved[tone] - np.mean(moved[neighbours])) < 0.5  # no line: the band moves as one
    assert moved[tone] < 0.6 * line[tone]
    # Inside the observation's signal region the long-term balance moves as bin by bin.
    middle = (freqs >= 700.0) & (freqs <= 1500.0)
    balance = _smoothed_db(by_bin) - _smoothed_db(generated)
    np.testing.assert_allclose(_smoothed_db(smooth)[middle] - _smoothed_db(generated)[middle],
                               balance[middle], atol=0.5)
    assert np.min(balance[middle]) < -1.0  # and it does move there


def test_in_range_balance_leaves_a_lone_bin_beyond_the_cut_off_alone_and_moves_the_pass_band_as_before(
        ) -> None:
    """The same tone beyond the 2 kHz cut-off: with ``in_range`` its bin keeps gain 1 (it lies outside
    the signal range, whose top is near the cut-off), and inside the range every bin moves exactly as
    bin by bin."""
    clean, observed, _ = _scene()
    t = np.arange(observed.size) / SR
    tone_hz = 5453.1
    observed = observed + 2e-3 * np.sin(2 * np.pi * tone_hz * t)
    generated = sosfilt(butter(16, 3000.0, fs=SR, output="sos"), _too_bright(clean, 4.0))
    freqs = consistency.bin_frequencies(SR)
    tone = int(np.argmin(np.abs(freqs - tone_hz)))
    stats = consistency._statistics(observed, generated)
    bottom, top = consistency.signal_range(consistency._above_noise(stats), SR)
    assert 1500.0 < top < 3000.0 and bottom < 200.0
    by_bin = consistency.balance_gain(stats, SR, 1.0)
    ranged = consistency.balance_gain(stats, SR, 1.0, in_range=True)
    assert 20 * np.log10(by_bin[tone]) > 3.0
    assert ranged[tone] == 1.0
    inside = (freqs >= bottom) & (freqs <= top)
    np.testing.assert_array_equal(ranged[inside], by_bin[inside])
    np.testing.assert_array_equal(ranged[~inside], 1.0)
    assert np.count_nonzero(np.abs(20 * np.log10(by_bin[inside])) > 1.0) > 20  # it does move the band
    out = generated.copy()
    report = consistency.rebalance(observed, out, SR, 1.0, in_range=True)
    assert report["in_range"] is True and report["smooth"] is False
    assert abs(_bin_db(out)[tone] - _bin_db(generated)[tone]) < 0.3


def test_signal_range_spans_the_bins_whose_third_octave_holds_signal() -> None:
    freqs = consistency.bin_frequencies(SR)
    band = (freqs >= 200.0) & (freqs <= 4000.0)
    stray = band | (np.abs(freqs - 7000.0) < 15.0)  # one stray bin far beyond: not the range's top
    bottom, top = consistency.signal_range(stray, SR)
    assert 200.0 <= bottom < 260.0 and 3500.0 < top <= 4000.0
    lone = np.zeros(freqs.size, dtype=bool)
    lone[100] = True  # no bin's third octave is half informative: the informative bins' own extent
    assert consistency.signal_range(lone, SR) == (freqs[100], freqs[100])
    with pytest.raises(ParameterError, match="at least one bin"):
        consistency.signal_range(np.zeros(freqs.size, dtype=bool), SR)


def test_floor_low_takes_the_priors_low_tone_down_to_the_observation_and_keeps_the_band_above() -> None:
    """The notes' lowest partial is 330 Hz; a prior that adds a steady 165 Hz tone, an octave under the
    lowest note, where the observation holds only hiss: below the gate's low cut-off the floor takes
    that tone down to the observation's level there, and leaves every bin from the cut-off up, the
    generated band beyond the 2 kHz low-pass included, as without it."""
    rng = np.random.default_rng(2)
    t = np.arange(4 * SR) / SR
    phase = (t % 0.5) / 0.3  # notes (a half-sine swell, no onset splatter) and rests, as music has
    swell = np.where(phase < 1.0, np.sin(np.pi * np.minimum(phase, 1.0)), 0.0)
    clean = sum(0.3 / k * np.sin(2 * np.pi * 330.0 * k * t) for k in range(1, 19)) * swell
    observed = sosfilt(butter(8, 2000.0, fs=SR, output="sos"), clean) + 3e-3 * rng.standard_normal(t.size)
    generated = clean + 0.5 * np.sin(2 * np.pi * 165.0 * t)
    plain, low = np.zeros_like(observed), np.zeros_like(observed)
    posterior_fuse(observed, generated, SR, plain)
    report = posterior_fuse(observed, generated, SR, low, floor_low=True).to_json()
    below_hz = report["floor_low"]["below_hz"]
    assert 150.0 < below_hz < 330.0 and report["floor_low"]["floored_bins"] > 0
    freqs = consistency.bin_frequencies(SR)
    tone = int(np.argmin(np.abs(freqs - 165.0)))
    assert _bin_db(plain)[tone] - _bin_db(observed)[tone] > 30.0  # the posterior keeps the prior's tone
    # The floor takes it to the observation's level (within the resynthesis's leakage, a few dB).
    assert _bin_db(low)[tone] - _bin_db(observed)[tone] < 4.0
    assert _bin_db(plain)[tone] - _bin_db(low)[tone] > 30.0
    # Every partial from the cut-off up, those the prior generated beyond the low-pass included, as
    # without the floor (between them the bins differ by the removed tone's leakage alone).
    partials = [int(np.argmin(np.abs(freqs - 330.0 * k))) for k in range(1, 19)]
    np.testing.assert_allclose(_bin_db(low)[partials], _bin_db(plain)[partials], atol=0.05)
    assert "floor_low" not in posterior_fuse(observed, generated, SR, plain).to_json()


def test_floor_low_needs_a_music_band_to_floor_below() -> None:
    rng = np.random.default_rng(3)
    hiss = 1e-2 * rng.standard_normal(2 * SR)
    out = np.zeros_like(hiss)
    report = posterior_fuse(hiss, rng.standard_normal(2 * SR), SR, out, floor_low=True).to_json()
    assert report["floor_low"] == {"below_hz": None, "floored_bins": 0}


def test_smooth_balance_needs_the_balance_pass() -> None:
    clean, observed, _ = _scene(2.0)
    with pytest.raises(ParameterError, match="set balance too"):
        posterior_fuse(observed, clean, SR, np.zeros_like(observed), balance_smooth=True)
    with pytest.raises(ParameterError, match="set balance too"):
        posterior_fuse(observed, clean, SR, np.zeros_like(observed), balance_in_range=True)


def test_posterior_fuse_reports_its_balance_pass_and_refuses_a_share_outside_zero_to_one() -> None:
    clean, observed, _ = _scene(2.0)
    out = np.zeros_like(observed)
    plain = posterior_fuse(observed, _too_bright(clean, 4.0), SR, out).to_json()
    report = posterior_fuse(observed, _too_bright(clean, 4.0), SR, out, balance=1.0).to_json()
    assert "balance" not in plain and report["balance"]["share"] == 1.0
    with pytest.raises(ParameterError, match="share from 0 to 1"):
        posterior_fuse(observed, clean, SR, out, balance=1.5)


def _curves(withheld_db: float, below_hz: float) -> consistency.EqCurves:
    """Third-octave curves of an EQ that would boost ``withheld_db`` below ``below_hz`` and applied none."""
    centres = 1000.0 * 2.0 ** (np.arange(-20, 13) / 3.0)
    inverse = np.where(centres < below_hz, withheld_db, 0.0)
    return consistency.EqCurves(centres_hz=centres, inverse_db=inverse, gain_db=np.zeros_like(centres))


def test_withheld_response_is_the_boost_the_eq_left_out() -> None:
    centres = np.array([100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0])
    curves = consistency.EqCurves(centres_hz=centres, inverse_db=np.array([30.0, 12.0, 6.0, -4.0, 3.0, 9.0]),
                                  gain_db=np.array([4.0, 4.0, 6.0, -4.0, -2.0, 9.0]))
    h = consistency.withheld_response(curves, SR, 1.0, SR / 2)
    freqs = consistency.bin_frequencies(SR)
    at = {f: float(-20 * np.log10(h[np.argmin(np.abs(freqs - f))])) for f in (93.75, 203.125, 796.875)}
    # 30 − 4 = 26 dB withheld, limited to 20; 12 − 4 = 8 (≈ 8 at 203 Hz); a cut is never "withheld".
    assert at[93.75] == pytest.approx(20.0) and at[203.125] == pytest.approx(8.0, abs=0.2)
    assert at[796.875] == pytest.approx(0.0, abs=1e-9)
    # A cut in a band (hiss cut) where the chain wanted +3 dB: the 3 dB is withheld, not 5.
    assert float(-20 * np.log10(h[np.argmin(np.abs(freqs - 1600.0))])) == pytest.approx(3.0, abs=0.1)
    assert np.all((h > 0) & (h <= 1.0))
    half = consistency.withheld_response(curves, SR, 0.5, SR / 2)
    assert np.allclose(20 * np.log10(half), 0.5 * 20 * np.log10(h))
    # Up to max_hz only: the bass's 20 and 8 dB stay, the treble's are not given back.
    low = consistency.withheld_response(curves, SR, 1.0, 500.0)
    assert np.array_equal(low[freqs <= 500.0], h[freqs <= 500.0]) and np.all(low[freqs > 500.0] == 1.0)
    assert h[freqs > 500.0].min() == pytest.approx(10 ** (-3 / 20), abs=0.01)  # 1.6 kHz: the 3 dB
    with pytest.raises(ParameterError, match="from 0 to 1"):
        consistency.withheld_response(curves, SR, 1.5, SR / 2)
    with pytest.raises(ParameterError, match="one inverse and one gain per band"):
        consistency.withheld_response(consistency.EqCurves(centres, centres[:3], centres), SR, 1.0, SR / 2)


def _band_db(x: np.ndarray, low: float, high: float, frames: np.ndarray | None = None) -> float:
    """Mean power (dB) of ``x`` in [low, high) Hz, over all STFT frames or the ``frames`` mask."""
    freqs, _, spec = stft(x, fs=SR, window="hann", nperseg=N_FFT, noverlap=N_FFT - consistency.HOP)
    power = np.abs(spec[(freqs >= low) & (freqs < high)]) ** 2
    return float(10 * np.log10(np.mean(power if frames is None else power[:, frames]) + 1e-30))


def test_withheld_boost_is_given_back_where_music_stands_over_the_noise_not_to_the_hiss() -> None:
    """The EQ left the bass 10 dB under the clean level (its noise limits withheld that boost). With the
    withheld response the anchored form gives the music the 10 dB back; in the gaps between notes, where
    the bass holds only hiss, the prior's (silent) content stays and the hiss is not lifted."""
    rng = np.random.default_rng(4)
    t = np.arange(4 * SR) / SR
    gate = (t % 0.5) < 0.25  # notes of 0.25 s, then 0.25 s of silence
    clean = sum(0.2 / k * np.sin(2 * np.pi * 110.0 * k * t) for k in range(1, 30)) * gate
    freqs = np.fft.rfftfreq(t.size, 1.0 / SR)
    dull = np.fft.irfft(np.fft.rfft(clean) * np.where(freqs < 400.0, 10 ** (-10 / 20), 1.0), t.size)
    observed = dull + 2e-3 * rng.standard_normal(t.size)
    withheld = consistency.withheld_response(_curves(10.0, 400.0), SR, 1.0, 500.0)
    plain, given = np.zeros_like(observed), np.zeros_like(observed)
    posterior_fuse(observed, clean, SR, plain, form="anchored", floor=True, evidence=True)
    report = posterior_fuse(observed, clean, SR, given, form="anchored", floor=True, evidence=True,
                            withheld=withheld)
    truth = _band_db(clean, 150.0, 350.0)
    assert _band_db(plain, 150.0, 350.0) == pytest.approx(truth - 10.0, abs=1.0)
    assert _band_db(given, 150.0, 350.0) == pytest.approx(truth, abs=1.0)
    # Above 400 Hz nothing was withheld: the two agree.
    assert _band_db(given, 600.0, 3000.0) == pytest.approx(_band_db(plain, 600.0, 3000.0), abs=0.05)
    # The gaps' bass (frames wholly inside a silence): the observation's hiss there lifted by 1/H would
    # stand 10 dB over it; the Wiener gain keeps the prior's silence (−88.1 dB, the hiss −82.6, when written).
    _, times, _ = stft(observed, fs=SR, window="hann", nperseg=N_FFT, noverlap=N_FFT - consistency.HOP)
    inside = ((times % 0.5) > 0.25 + N_FFT / SR / 2) & ((times % 0.5) < 0.5 - N_FFT / SR / 2)
    hiss = _band_db(observed, 150.0, 350.0, inside)
    assert _band_db(given, 150.0, 350.0, inside) < hiss - 3.0
    entry = report.to_json()["withheld_boost"]
    assert entry["max_db"] == pytest.approx(10.0, abs=0.01) and entry["limit_db"] == 20.0
    assert entry["bins_given_back"] > 0
    assert "withheld_boost" not in posterior_fuse(observed, clean, SR, plain, form="anchored").to_json()


def test_withheld_response_is_refused_where_it_has_no_meaning() -> None:
    x = np.zeros(4096)
    h = np.ones(N_FFT // 2 + 1)
    with pytest.raises(ParameterError, match="fits its own"):
        posterior_fuse(x, x, SR, np.zeros(4096), withheld=h)
    with pytest.raises(ParameterError, match="use one of them"):
        posterior_fuse(x, x, SR, np.zeros(4096), form="anchored", withheld=h, balance=1.0)
    with pytest.raises(ParameterError, match=r"513 bins in \(0, 1\]"):
        posterior_fuse(x, x, SR, np.zeros(4096), form="anchored", withheld=np.ones(10))
    with pytest.raises(ParameterError, match=r"513 bins in \(0, 1\]"):
        posterior_fuse(x, x, SR, np.zeros(4096), form="anchored", withheld=2.0 * h)


def _dense_scene(seconds: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """A band 300-1200 Hz the music fills in every frame (28 partials, each swelling on its own slow
    cycle, never silent) over a quiet white hiss; and a prior's sample of the same partials swelling
    out of step with them, 10 dB quieter."""
    rng = np.random.default_rng(4)
    t = np.arange(int(seconds * SR)) / SR

    def texture(shift: float) -> np.ndarray:
        partials = enumerate(np.geomspace(300.0, 1200.0, 28))
        return sum(0.05 * (1.2 + np.sin(2 * np.pi * (0.7 + 0.1 * k) * t + k + shift))
                   * np.sin(2 * np.pi * f * t + shift * k) for k, f in partials)

    observed = texture(0.0) + 1e-4 * rng.standard_normal(t.size)
    generated = 10 ** (-10 / 20) * texture(2.0) + 1e-4 * rng.standard_normal(t.size)
    return observed, generated


def _band_sdr_db(out: np.ndarray, observed: np.ndarray) -> float:
    """How close ``out`` is to ``observed`` in 300-1200 Hz: their band-passed SDR, dB."""
    band = butter(4, [300.0, 1200.0], btype="band", fs=SR, output="sos")
    kept, error = sosfilt(band, observed), sosfilt(band, out - observed)
    return float(10 * np.log10(np.sum(kept**2) / max(np.sum(error**2), 1e-300)))


def test_slope_limited_noise_keeps_a_band_the_music_fills_at_all_times() -> None:
    """Minimum statistics read the never-silent band's quietest music as its noise: its bins count as
    holding none (H = 0) and the prior's sample replaces them. The floor slope-limited from the hiss
    around the band keeps the input there."""
    observed, generated = _dense_scene()
    plain, limited = np.zeros_like(observed), np.zeros_like(observed)
    plain_report = posterior_fuse(observed, generated, SR, plain, form="anchored", evidence=True).to_json()
    report = posterior_fuse(observed, generated, SR, limited, form="anchored", evidence=True,
                            noise_slope_db=6.0).to_json()
    assert _band_sdr_db(plain, observed) < 0.0
    assert _band_sdr_db(limited, observed) > 40.0
    band = {b["low_hz"]: b for b in report["bands"]}
    plain_band = {b["low_hz"]: b for b in plain_report["bands"]}
    assert plain_band[250.0]["residual_response_db"] < -3.0 and plain_band[250.0]["observed_share"] < 0.5
    assert band[250.0]["residual_response_db"] == 0.0 and band[250.0]["observed_share"] > 0.99
    assert report["noise_slope"]["db_per_octave"] == 6.0
    assert report["noise_slope"]["lowered_db_250_1000"] > 20.0
    assert "noise_slope" not in plain_report


def test_slope_limit_leaves_a_hiss_floor_nearly_as_it_is() -> None:
    """Over white hiss alone the floor is smooth already: no band's floor moves by 1 dB (the DC and
    Nyquist bins read as real-valued, so their low quantile does not drag the top octave down)."""
    rng = np.random.default_rng(5)
    hiss = 1e-2 * rng.standard_normal(4 * SR)
    report = posterior_fuse(hiss, rng.standard_normal(4 * SR), SR, np.zeros_like(hiss), form="anchored",
                            noise_slope_db=6.0).to_json()
    lowered = {k: v for k, v in report["noise_slope"].items() if k.startswith("lowered_db")}
    assert len(lowered) == 4 and all(abs(v) < 1.0 for v in lowered.values()), lowered
