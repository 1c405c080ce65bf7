import numpy as np
import pytest

from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum
from shellac.engine.dsp.chain_fit import fit_chain
from shellac.engine.dsp.chain_model import ChainResponse, Resonance
from shellac.engine.errors import ParameterError
from shellac.lab.evaluation.chain_oracle import oracle_fit

SR = 22050


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_oracle_fit_within_2_db_on_random_chains(seed):
    # Fitted against the true clean signal, the chain response is within 2 dB RMS over the pass band.
    result = oracle_fit(seed, sample_rate=SR, seconds=5.0)
    assert result.chain_error_db <= 2.0
    # Its BABE-2 projection is a far better start than BABE-2's 2 kHz low-pass.
    assert result.projected_error_db <= 3.0
    assert result.default_error_db > 10.0


def test_chain_vector_round_trip():
    chain = ChainResponse(250.0, 18.0, 4000.0, 36.0, (Resonance(600.0, 6.0, 3.0),), gain_db=-2.0)
    again = ChainResponse.from_vector(chain.to_vector())
    f = np.geomspace(50, 10000, 20)
    np.testing.assert_allclose(again.response_db(f), chain.response_db(f), atol=1e-9)
    # Corners: −3 dB of each Butterworth term at its corner (resonance far away adds ~0).
    plain = ChainResponse(100.0, 24.0, 8000.0, 48.0)
    assert plain.response_db(np.array([100.0]))[0] == pytest.approx(-3.01, abs=0.05)


def test_known_chain_recovered_on_noise_input():
    # Bursts of white noise (silent gaps between them, like notes) through a known chain,
    # plus a steady hiss floor: the fit recovers the corners.
    rng = np.random.default_rng(7)
    gate = (np.arange(SR * 4) // (SR // 4)) % 3 != 0
    clean = rng.standard_normal(SR * 4) * gate
    chain = ChainResponse(300.0, 24.0, 3000.0, 48.0, (Resonance(1000.0, 6.0, 4.0),))
    spec = np.fft.rfft(clean)
    freqs = np.fft.rfftfreq(clean.size, 1 / SR)
    observed = np.fft.irfft(spec * 10 ** (chain.response_db(freqs) / 20), clean.size)
    observed += 0.003 * rng.standard_normal(clean.size)
    grid = band_grid(SR)
    fit = fit_chain(band_spectrum(observed, SR, grid), band_spectrum(clean, SR, grid).mean_power)
    assert fit.response.highpass_hz == pytest.approx(300.0, rel=0.15)
    assert fit.response.lowpass_hz == pytest.approx(3000.0, rel=0.1)
    # Bands deep in the stop band are at the hiss floor and carry no weight.
    centres = grid.centres_hz
    assert np.all(fit.weights[centres > 8000] == 0)
    assert np.all(fit.weights[(centres > 500) & (centres < 2000)] > 0.9)


def test_fit_refuses_pure_noise():
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(SR * 2)
    spectrum = band_spectrum(noise, SR)
    with pytest.raises(ParameterError):
        fit_chain(spectrum, spectrum.mean_power)
