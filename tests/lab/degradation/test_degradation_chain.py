"""The full chain: determinism, true response, saturation bound, params validation."""

import json

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.signal import welch

from shellac.engine.errors import ParameterError
from shellac.lab.degradation import (
    DegradationParams,
    apply_wow,
    degrade,
    random_params,
    saturate,
)

SR = 22050


def _signal(seed: int = 0, seconds: float = 3.0) -> np.ndarray:
    return 0.2 * np.random.default_rng(seed).standard_normal(int(SR * seconds))


def test_same_seed_same_output_other_seed_differs() -> None:
    x = _signal()
    params = random_params(np.random.default_rng(11))
    a = degrade(x, SR, params, np.random.default_rng(7))
    b = degrade(x, SR, params, np.random.default_rng(7))
    c = degrade(x, SR, params, np.random.default_rng(8))
    np.testing.assert_array_equal(a.audio, b.audio)
    np.testing.assert_array_equal(a.click_positions_samples, b.click_positions_samples)
    assert not np.array_equal(a.audio, c.audio)
    assert random_params(np.random.default_rng(11)) == params


def test_declared_response_is_the_end_to_end_small_signal_response() -> None:
    # Noise off, no drive, quiet: the chain is linear, so output/input spectra give the response,
    # broadband level changes included.
    params = DegradationParams(
        hiss_snr_db=None, click_rate_hz=0.0, crackle_rate_hz=0.0, drive_db=0.0, peak_dbfs=-24.0
    )
    x = _signal(seconds=20.0)
    result = degrade(x, SR, params, np.random.default_rng(0))
    f, pxx = welch(x, SR, nperseg=4096)
    _, pyy = welch(result.audio, SR, nperseg=4096)
    measured = 10.0 * np.log10(pyy / pxx)
    np.testing.assert_allclose(result.response.freqs_hz, f)
    band = (f >= params.highpass_hz) & (f <= params.lowpass_hz)
    assert np.abs(measured[band] - result.response.gain_db[band]).max() < 1.0


def test_saturation_bounded_and_unity_small_signal_gain() -> None:
    x = np.linspace(-50.0, 50.0, 10001)
    for drive_db in (0.0, 3.0, 18.0):
        assert np.abs(saturate(x, drive_db)).max() <= 1.0
    np.testing.assert_allclose(saturate(np.array([1e-4]), 6.0), [1e-4], rtol=1e-6)
    # a full-scale input is compressed: tanh(2) / 2 at 6.02 dB drive
    np.testing.assert_allclose(saturate(np.array([1.0]), 20 * np.log10(2.0)), [np.tanh(2.0) / 2])
    with pytest.raises(ValueError):
        saturate(x, -1.0)


def test_chain_output_stays_in_full_scale() -> None:
    params = random_params(np.random.default_rng(1)).model_copy(
        update={"click_amplitude": (0.9, 1.0), "click_rate_hz": 20.0, "peak_dbfs": -0.5}
    )
    result = degrade(_signal(), SR, params, np.random.default_rng(1))
    assert np.abs(result.audio).max() <= 0.99 + 1e-12


def test_wow_drift_matches_closed_form() -> None:
    n = SR * 4
    ramp = np.arange(n, dtype=np.float64)  # reading a ramp returns the read position itself
    out = apply_wow(ramp, SR, 1.0, 78.0 / 60.0, 0.0)
    drift = out - ramp
    expected_peak = 2.0 * 0.01 / (2.0 * np.pi * 78.0 / 60.0) * SR  # samples
    np.testing.assert_allclose(drift[: n - 100].max(), expected_peak, rtol=1e-3)
    np.testing.assert_array_equal(apply_wow(ramp, SR, 0.0, 1.3, 0.0), ramp)


@pytest.mark.parametrize(
    "update",
    [
        {"lowpass_hz": 20000.0},
        {"highpass_hz": 10.0},
        {"highpass_hz": 500.0, "lowpass_hz": 900.0},
        {"click_width_ms": (0.05, 1.0)},
        {"click_width_ms": (1.5, 1.0)},
        {"click_amplitude": (0.0, 0.5)},
        {"hiss_snr_db": -5.0},
        {"drive_db": 30.0},
        {"wow_depth_percent": 5.0},
        {"resonances": [{"freq_hz": 50.0, "gain_db": 3.0, "q": 2.0}]},
        {"unknown_field": 1},
    ],
)
def test_params_reject_out_of_range(update: dict) -> None:
    base = DegradationParams().model_dump()
    with pytest.raises(ValidationError):
        DegradationParams.model_validate({**base, **update})


def test_params_are_frozen() -> None:
    with pytest.raises(ValidationError):
        DegradationParams().lowpass_hz = 3000.0  # type: ignore[misc]


def test_random_params_are_clearly_degraded_and_realistic() -> None:
    for seed in range(50):
        p = random_params(np.random.default_rng(seed))
        assert 2500.0 <= p.lowpass_hz <= 6000.0
        assert 200.0 <= p.highpass_hz <= 300.0
        assert p.hiss_snr_db is not None and p.hiss_snr_db <= 28.0
        assert p.click_rate_hz >= 0.5
        assert p.wow_depth_percent == 0.0
        assert 2 <= len(p.resonances) <= 4


def test_result_json_round_trips() -> None:
    params = random_params(np.random.default_rng(2))
    result = degrade(_signal(), SR, params, np.random.default_rng(2))
    info = json.loads(json.dumps(result.to_json()))
    assert DegradationParams.model_validate(info["params"]) == params
    assert len(info["response"]["freqs_hz"]) == 2049
    assert info["response"]["phase"] == "zero"
    np.testing.assert_allclose(info["response"]["gain_db"], result.response.gain_db, atol=1e-4)


def test_bad_input_raises_parameter_error() -> None:
    with pytest.raises(ParameterError):
        degrade(np.zeros((2, 100)), SR, DegradationParams(), np.random.default_rng(0))
    with pytest.raises(ParameterError):
        degrade(np.array([0.0, np.nan]), SR, DegradationParams(), np.random.default_rng(0))
