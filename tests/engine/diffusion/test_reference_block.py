"""One reference-preset block end to end on a tiny reference-made CQT network, same noise draws."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from shellac.engine.diffusion.guidance import PosteriorSamplingGuidance
from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.diffusion.sampler import edm_sampler
from shellac.engine.diffusion.schedule import restoration_schedule
from shellac.engine.models.bundle import load_bundle
from shellac.engine.models.import_babe2 import import_babe2
from shellac.engine.networks.cqt_reference import reference_output_filter
from shellac.engine.operators.blind_filter import BlindFilter

FIXTURES = Path(__file__).parents[2] / "fixtures" / "babe2_reference"
N_STEPS = 4


@pytest.mark.parametrize("dtype", [torch.float64])
def test_one_blind_block_matches_the_reference(tmp_path: Path, dtype: torch.dtype) -> None:
    """4 Heun steps (γ = 10/5, no final Euler), 3 Adam iterations per fit, σ_y 0.25, ξ 1, reference filters.

    Both sides run in float64 (the reference's float32 Adam steps on near-zero gradients are its floor);
    the noise is torch's generator seeded 2024, drawn in the reference's order.
    """
    ref = np.load(FIXTURES / "block.npz")
    bundle_dir = import_babe2(FIXTURES / "tiny_published.pt", tmp_path / "piano", name="piano")
    network = load_bundle(bundle_dir).network.to(dtype).eval()
    denoiser = EDMPrecond(network, sigma_data=0.063, output_filter=reference_output_filter(network))
    gen = torch.Generator().manual_seed(2024)
    drawn: list[torch.Tensor] = []

    def randn_like(t: torch.Tensor) -> torch.Tensor:
        drawn.append(torch.randn(t.shape, generator=gen, dtype=t.dtype))
        return drawn[-1]

    blind = BlindFilter(8000, design="reference", n_iters=3)
    fits: list[np.ndarray] = []
    fit = blind.fit

    def recording_fit(x0_hat, y, weight_mask=None):  # type: ignore[no-untyped-def]
        report = fit(x0_hat, y, weight_mask)
        fits.append(np.concatenate([p.detach().numpy() for p in blind.params]))
        return report

    blind.fit = recording_fit  # type: ignore[method-assign]
    y = torch.tensor(ref["y"], dtype=dtype)
    guidance = PosteriorSamplingGuidance(blind, y, xi=1.0, sigma_y=0.25, randn_like=randn_like)
    schedule = restoration_schedule(N_STEPS, 0.5, 4e-5, 13.0)
    x_init = torch.tensor(ref["x_init"], dtype=dtype)
    out = edm_sampler(denoiser, x_init, schedule, guidance=guidance, randn_like=randn_like, s_churn=10.0,
                      churn_t_range=(0.0, 50.0), churn_n=N_STEPS + 1, final_euler=False).numpy()
    heads = np.stack([d.reshape(-1)[:8].numpy() for d in drawn])
    np.testing.assert_array_equal(heads, ref["draws_head"][: len(drawn)])
    assert np.max(np.abs(out - ref["out"])) < 1e-4 * np.max(np.abs(ref["out"]))
    # The reference's last step still fits once more (and discards it): Shellac skips that step.
    assert len(fits) == len(ref["fits"]) - 1
    expected = ref["fits"][: len(fits)]
    assert np.max(np.abs(np.stack(fits) - expected) / np.maximum(np.abs(expected), 1.0)) < 1e-4
