"""Frequency-weighted denoising loss: Parseval-exact without weights, whitening within its range."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from shellac.engine.diffusion.precond import EDMPrecond
from shellac.lab.datasets import SegmentDataset
from shellac.lab.training import TrainConfig, train
from shellac.lab.training.objective import edm_loss
from shellac.lab.training.spectral_weight import (
    bin_multiplicity,
    mean_power_spectrum,
    spectral_weights,
    weights_for_data,
)

from .conftest import SR


class _Silent(torch.nn.Module):
    """A network that outputs zeros, so D(x + σn; σ) = c_skip·(x + σn)."""

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


def _loss_of_error(error: torch.Tensor, weights: torch.Tensor | None) -> float:
    # Clean x = 0 and σ·n = error: the denoiser's error is c_skip·error (c_skip ~ 1 at σ = 1e-3).
    sigma = torch.tensor([1e-3], dtype=torch.float64)
    den = EDMPrecond(_Silent(), sigma_data=0.063)
    x = torch.zeros(1, error.numel(), dtype=torch.float64)
    noise = (error / 1e-3).reshape(1, -1)
    return float(edm_loss(den, x, sigma, noise, weights)[0])


@pytest.mark.parametrize("length", [64, 63])
def test_unit_weights_equal_the_plain_loss(length: int) -> None:
    error = torch.from_numpy(np.random.default_rng(1).standard_normal(length))
    plain = _loss_of_error(error, None)
    ones = torch.ones(length // 2 + 1, dtype=torch.float64)
    assert _loss_of_error(error, ones) == pytest.approx(plain, rel=1e-9)
    assert bin_multiplicity(length).sum() == length


def test_weights_whiten_a_dark_spectrum_within_the_range() -> None:
    n = 1024
    f = np.arange(n // 2 + 1)
    power = 10.0 ** (-f / (n // 2) * 4.0)  # falls 40 dB from DC to Nyquist
    w2 = spectral_weights(power, 20.0, n).double()
    # Weight ratio follows the spectrum up to 20 dB, then stays at the cap.
    assert float(w2[256] / w2[0]) == pytest.approx(100.0, rel=1e-6)  # 20 dB down exactly
    assert float(w2[128] / w2[0]) == pytest.approx(10.0, rel=1e-6)   # 10 dB down
    assert float(w2[512] / w2[0]) == pytest.approx(100.0, rel=1e-6)  # capped
    assert float((bin_multiplicity(n) * w2).sum()) == pytest.approx(n, rel=1e-6)  # white error: same loss
    assert torch.equal(spectral_weights(power, 0.0, n), torch.ones(n // 2 + 1))


def test_weighted_loss_counts_an_error_in_a_quiet_band_more() -> None:
    n = 1024
    t = torch.arange(n, dtype=torch.float64)
    low = 0.01 * torch.sin(2 * torch.pi * 8 * t / n)    # bin 8
    high = 0.01 * torch.sin(2 * torch.pi * 400 * t / n)  # bin 400
    f = np.arange(n // 2 + 1)
    w2 = spectral_weights(10.0 ** (-f / (n // 2) * 4.0), 30.0, n).double()
    # Same power: equal plain losses; the weighted loss gives the quiet band's error 10^(31.25/10)
    # (capped at 30 dB) times the weight of bin 8's (0.625 dB below DC).
    assert _loss_of_error(low, None) == pytest.approx(_loss_of_error(high, None), rel=1e-9)
    ratio = _loss_of_error(high, w2) / _loss_of_error(low, w2)
    assert ratio == pytest.approx(1000.0 / 10.0 ** (8 / 512 * 4.0), rel=1e-6)


def test_mean_spectrum_of_the_training_tones_peaks_at_their_pitch(data_dir: Path) -> None:
    data = SegmentDataset(data_dir, SR, 1024, seed=1)
    power = mean_power_spectrum(data.batch(16))
    peak_hz = int(np.argmax(power)) * SR / 1024
    assert 180 <= peak_hz <= 320  # the tones are 200, 250 and 300 Hz
    w2 = weights_for_data(SegmentDataset(data_dir, SR, 1024, seed=1), 20.0, 1024)
    assert float(w2.max() / w2.min()) == pytest.approx(100.0, rel=1e-5)  # the hiss floor is > 20 dB down


def test_training_with_spectral_weighting_runs(data_dir: Path, tmp_path: Path) -> None:
    base = {"network": "tiny", "sample_rate": SR, "segment_length": 1024, "steps": 3,
            "checkpoint_every": 3, "warmup_steps": 1, "batch_size": 2, "seed": 3}
    plain = train(TrainConfig(**base), data_dir, tmp_path / "plain", progress=False)
    config = TrainConfig(**base, spectral_weighting_db=20.0)
    weighted = train(config, data_dir, tmp_path / "w", progress=False)
    assert weighted.final_loss is not None and np.isfinite(weighted.final_loss)
    assert weighted.final_loss != plain.final_loss  # a different objective on the same batches
