from dataclasses import replace

import numpy as np
import pytest

from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum
from shellac.engine.dsp.chain_fit import REFERENCE_FIT, RESONANCE_SPACING_OCTAVES, fit_chain, spread_weights
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


def test_spread_weights_trust_the_bands_where_the_reference_sources_agree():
    weights = spread_weights(np.array([0.5, 1.0, 8.0]), 0.5)
    # 1/(σ0² + s²), the most certain band 1: (0.25+0.25)/(0.25+1) = 0.4; (0.25+0.25)/(0.25+64) ≈ 0.0078.
    assert weights == pytest.approx([1.0, 0.4, 0.5 / 64.25])
    with pytest.raises(ParameterError, match="spread_floor_db must be positive"):
        spread_weights(np.ones(3), 0.0)


BRIGHT_CHAIN = ChainResponse(300.0, 24.0, 5000.0, 48.0, (Resonance(1000.0, 6.0, 4.0),))


def _bright_instrument():  # type: ignore[no-untyped-def]
    """Gated white noise 8 dB brighter above 2 kHz, through BRIGHT_CHAIN, with hiss: the observed band
    spectrum, the unbrightened noise's band power (the reference), the band centres, treble and mid."""
    rng = np.random.default_rng(7)
    gate = (np.arange(SR * 4) // (SR // 4)) % 3 != 0
    white = rng.standard_normal(SR * 4) * gate
    freqs = np.fft.rfftfreq(white.size, 1 / SR)
    bright = np.fft.irfft(np.fft.rfft(white) * np.where(freqs > 2000, 10 ** (8 / 20), 1.0), white.size)
    observed = np.fft.irfft(np.fft.rfft(bright) * 10 ** (BRIGHT_CHAIN.response_db(freqs) / 20), white.size)
    observed += 0.003 * rng.standard_normal(white.size)
    grid = band_grid(SR)
    centres = grid.centres_hz
    treble, mid = (centres > 2300) & (centres < 3500), (centres > 500) & (centres < 1500)
    return band_spectrum(observed, SR, grid), band_spectrum(white, SR, grid).mean_power, centres, treble, mid


def test_a_brighter_instrument_is_not_taken_for_the_chain_where_the_sources_disagree():
    # The recording's instrument is 8 dB brighter above 2 kHz than the reference, where the reference's
    # sources disagree by 8 dB (1 dB below). The true chain is flat at 2.3-3.5 kHz, under its 5 kHz corner.
    spectrum, reference, centres, treble, mid = _bright_instrument()
    chain = BRIGHT_CHAIN

    def eq_error(spread):  # the EQ's error (inverse of the fitted chain vs the true one), treble and mid
        fit = fit_chain(spectrum, reference, settings=REFERENCE_FIT, spread_db=spread)
        error = chain.response_db(centres) - (fit.response.response_db(centres) - fit.response.gain_db)
        error -= error[mid].mean()
        return abs(error[treble].mean()), float(np.sqrt(np.mean(error[mid] ** 2)))

    plain, weighted = eq_error(None), eq_error(np.where(centres > 2000, 8.0, 1.0))
    assert plain[0] > 7.0  # without the spread the EQ darkens the bright treble by ~8 dB
    assert weighted[0] < plain[0] - 2.5  # with it, by ~5 dB: the bright instrument partly survives
    assert weighted[1] < 1.0 and plain[1] < 1.0  # the mid band (resonance at 1 kHz) undone either way


def test_a_shape_basis_lets_the_fit_explain_a_brighter_instrument_as_the_instrument():
    # As above, but the reference carries one shape direction, "brighter above 2 kHz" (8 dB one standard
    # deviation): the fit gives the brightness to the instrument and the treble EQ error nearly vanishes.
    spectrum, reference, centres, treble, mid = _bright_instrument()
    chain = BRIGHT_CHAIN
    basis = np.where(centres > 2000, 8.0, 0.0)[None, :]

    # At λ = 1 (the shipped 4 holds a departure of one standard deviation shorter).
    fit = fit_chain(spectrum, reference, settings=replace(REFERENCE_FIT, shape_prior_weight=1.0),
                    shape_basis_db=basis)
    error = chain.response_db(centres) - (fit.response.response_db(centres) - fit.response.gain_db)
    error -= error[mid].mean()
    assert abs(error[treble].mean()) < 1.5  # without the basis: > 7 dB (the test above)
    assert float(np.sqrt(np.mean(error[mid] ** 2))) < 1.0
    # The departure it found: about +8 dB above 2 kHz (one standard deviation), nothing below.
    assert fit.shape_db[treble].mean() == pytest.approx(8.0, abs=1.5)
    assert np.all(np.abs(fit.shape_db[centres < 1500]) < 0.5)
    # Without a basis the departure is zero.
    assert not fit_chain(spectrum, reference, settings=REFERENCE_FIT).shape_db.any()


def test_the_greedy_search_never_stacks_copies_of_one_resonance():
    # A +14 dB horn peak under the reference fit's ridge prior: one resonance is held short of it, so
    # the residual still peaks there. Unchecked, the search seeds the same peak again and the refit
    # converges to identical copies (four of +3.05 dB at 899 Hz), each paying the prior on its share
    # only; kept apart, one resonance carries the peak (+11.2 dB) and every two are 1/6 octave apart.
    rng = np.random.default_rng(7)
    gate = (np.arange(SR * 4) // (SR // 4)) % 3 != 0
    clean = rng.standard_normal(SR * 4) * gate
    chain = ChainResponse(300.0, 24.0, 3000.0, 48.0, (Resonance(900.0, 14.0, 4.0),))
    freqs = np.fft.rfftfreq(clean.size, 1 / SR)
    observed = np.fft.irfft(np.fft.rfft(clean) * 10 ** (chain.response_db(freqs) / 20), clean.size)
    observed += 0.003 * rng.standard_normal(clean.size)
    grid = band_grid(SR)
    spectra = band_spectrum(observed, SR, grid), band_spectrum(clean, SR, grid).mean_power

    def octaves_between(fit) -> np.ndarray:  # type: ignore[no-untyped-def]
        return np.diff(np.sort(np.log2([r.freq_hz for r in fit.response.resonances])))

    apart = fit_chain(*spectra, settings=REFERENCE_FIT)
    peak = max(apart.response.resonances, key=lambda r: r.gain_db)
    assert peak.freq_hz == pytest.approx(900.0, rel=0.05) and peak.gain_db > 8.0
    assert np.all(octaves_between(apart) >= RESONANCE_SPACING_OCTAVES)
    # Spacing 0, as every fit was until 2 December 2026 (and the voice profile still is).
    stacked = fit_chain(*spectra, settings=replace(REFERENCE_FIT, resonance_spacing_octaves=0.0))
    assert np.any(octaves_between(stacked) < 1.0 / 12.0)


@pytest.mark.parametrize("field", ["resonance_spacing_octaves", "shape_prior_weight"])
def test_settings_out_of_range_are_refused_before_any_fit(field):
    with pytest.raises(ParameterError, match=field):
        replace(REFERENCE_FIT, **{field: -0.1})
