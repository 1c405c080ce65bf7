"""The horn EQ applies exactly the response it declares."""

import numpy as np
import pytest
from scipy.signal import welch

from shellac.lab.degradation import (
    DegradationParams,
    Resonance,
    apply_zero_phase_eq,
    horn_response_db,
    random_params,
)

SR = 22050


def _measured_db(params: DegradationParams, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch estimate of |H|^2 in dB: filtered white noise over the white noise itself."""
    x = np.random.default_rng(seed).standard_normal(SR * 20)
    y = apply_zero_phase_eq(x, SR, params)
    f, pxx = welch(x, SR, nperseg=4096)
    _, pyy = welch(y, SR, nperseg=4096)
    return f, 10.0 * np.log10(pyy / pxx)


@pytest.mark.parametrize("params", [DegradationParams(), random_params(np.random.default_rng(3))])
def test_white_noise_through_eq_matches_declared_response(params: DegradationParams) -> None:
    f, measured = _measured_db(params, seed=0)
    declared = horn_response_db(f, params)
    in_band = (f >= params.highpass_hz) & (f <= params.lowpass_hz)
    err = np.abs(measured[in_band] - declared[in_band])
    assert err.max() < 1.0
    assert err.mean() < 0.3
    # and the stop band really is cut: 2 octaves above the corner is far down
    above = f > 4.0 * params.lowpass_hz
    if above.any():
        assert measured[above].max() < -40.0


def test_response_pinned_values() -> None:
    # No resonances: a Butterworth-magnitude band-pass, -3.01 dB at each corner.
    params = DegradationParams(
        highpass_hz=250.0, lowpass_hz=4000.0, resonances=(),
        highpass_slope_db_per_oct=12.0, lowpass_slope_db_per_oct=36.0,
    )
    db = horn_response_db(np.array([250.0, 1000.0, 4000.0, 8000.0, 0.0]), params)
    np.testing.assert_allclose(db[0], -3.0103, atol=2e-3)  # lowpass adds ~0 at 250 Hz
    np.testing.assert_allclose(db[2], -3.0103, atol=2e-3)
    # mid-band, two octaves from each corner: -10 log10(1 + 4^-3.986) - 10 log10(1 + 4^-11.96)
    np.testing.assert_allclose(db[1], -0.017256, atol=1e-5)
    # one octave above the corner of a 36 dB/oct slope: 10 log10(1 + 2^(2*36/6.02)) = 36.0 dB
    np.testing.assert_allclose(db[3], -36.0, atol=0.05)
    assert db[4] == params.eq_floor_db
    # a resonance adds exactly its gain at its centre
    peaked = params.model_copy(update={"resonances": (Resonance(freq_hz=1000.0, gain_db=7.5, q=4),)})
    gain = horn_response_db(np.array([1000.0]), peaked) - horn_response_db(np.array([1000.0]), params)
    np.testing.assert_allclose(gain, [7.5], atol=1e-9)


def test_eq_is_zero_phase_and_keeps_length() -> None:
    # A symmetric impulse in the middle stays symmetric: no phase shift, no delay.
    x = np.zeros(4001)
    x[2000] = 1.0
    y = apply_zero_phase_eq(x, SR, DegradationParams())
    assert y.shape == x.shape
    assert int(np.argmax(np.abs(y))) == 2000
    np.testing.assert_allclose(y[2000 - 500 : 2000], y[2001 : 2501][::-1], atol=1e-12)
