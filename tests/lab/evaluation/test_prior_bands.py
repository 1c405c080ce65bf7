"""Per-band prior diagnosis: exact band powers, the identity and an oracle denoiser, warm restarts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shellac.lab.evaluation.prior_bands import band_power, diagnose_prior, markdown_table, octave_edges

SR = 8000


def test_octave_edges_stop_below_nyquist() -> None:
    assert octave_edges(SR).tolist() == [31.25, 62.5, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0]
    assert octave_edges(22050)[-1] == 8000.0
    assert octave_edges(22050, to_nyquist=True).tolist()[-2:] == [8000.0, 11025.0]
    assert octave_edges(16000, to_nyquist=True)[-1] == 8000.0  # Nyquist is an octave edge: no extra band


def test_band_power_puts_a_tone_in_its_octave() -> None:
    t = np.arange(SR) / SR
    x = np.sin(2 * np.pi * 300.0 * t)[None, :]  # 250–500 Hz band
    power = band_power(x, SR, octave_edges(SR))
    assert int(np.argmax(power)) == 3
    assert power[3] == pytest.approx((SR / 2) ** 2, rel=1e-9)  # |rfft| = N/2 at the tone's bin
    assert power.sum() == pytest.approx(power[3], rel=1e-12)


def _clean() -> torch.Tensor:
    t = torch.arange(4096, dtype=torch.float32) / SR
    tones = torch.stack([torch.sin(2 * torch.pi * f * t) for f in (200.0, 330.0)])
    return 0.063 * tones / tones.std(dim=1, keepdim=True)


def test_identity_denoiser_error_equals_the_added_noise() -> None:
    bands = diagnose_prior(lambda x, s: x, _clean(), SR, sigmas=[0.1, 0.01], steps=[], sigma_start=0.5,
                           sigma_min=1e-4, rho=13.0, sigma_data=0.063)
    for row in bands.denoising:
        np.testing.assert_allclose(row.error_db, row.noise_db, atol=1e-4)
    # c_skip at σ = 0.1 with σ_data 0.063 is 0.284: the skip path passes the noise 10.93 dB down.
    skip = bands.denoising[0].skip_db
    assert skip is not None
    np.testing.assert_allclose(bands.denoising[0].noise_db - skip, 10.93, atol=0.01)
    assert "skip path alone (c_skip·noise), σ = 0.1 |" in markdown_table("identity", bands)
    # 20 dB less noise at a tenth of σ, in every band.
    np.testing.assert_allclose(bands.denoising[0].noise_db - bands.denoising[1].noise_db, 20.0, atol=1.5)


def test_oracle_denoiser_restores_the_clean_level_from_a_warm_start() -> None:
    clean = _clean()

    def oracle(x: torch.Tensor, sigma: float) -> torch.Tensor:
        return clean

    bands = diagnose_prior(oracle, clean, SR, sigmas=[0.1], steps=[4, 8], sigma_start=0.5,
                           sigma_min=1e-4, rho=13.0)
    assert np.all(bands.denoising[0].error_db < -200)  # no error at all
    for n in (4, 8):
        # Bands that hold the tones come back at the clean level (the sampler ends on the oracle).
        np.testing.assert_allclose(bands.warm_restart_db[n][[2, 3]], 0.0, atol=0.01)
    table = markdown_table("oracle", bands)
    assert "| warm restart, 8 steps: output − clean | " in table and "0.25–0.5 kHz" in table
