"""Schedule, churn and last step of the BABE-2 reference sampler, against its numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from shellac.engine.diffusion.sampler import churn_gamma, edm_sampler
from shellac.engine.diffusion.schedule import restoration_schedule

FIXTURES = Path(__file__).parents[2] / "fixtures" / "babe2_reference"


def test_schedule_and_churn_match_the_reference() -> None:
    ref = np.load(FIXTURES / "schedule.npz")
    t = restoration_schedule(51, 0.5, 4e-5, 13.0).numpy()
    np.testing.assert_allclose(t, ref["t"], rtol=1e-12, atol=0)
    # The reference divides S_churn by the schedule's length (N + 1 = 52), not by N.
    gamma = [churn_gamma(float(v), t.size, 10.0, (0.0, 50.0)) for v in t]
    np.testing.assert_allclose(gamma, ref["gamma"], rtol=1e-12, atol=0)
    assert gamma[0] == 10.0 / 52


def test_reference_last_step_returns_x_at_sigma_min() -> None:
    """final_euler=False stops before σ_min → 0: the result is x at σ_min, one network call fewer."""
    schedule = restoration_schedule(4, 0.5, 4e-5, 13.0)
    calls: list[float] = []

    def denoiser(x: torch.Tensor, sigma: float) -> torch.Tensor:
        calls.append(sigma)
        return 0.5 * x

    def run(final_euler: bool, seen: list[float]) -> torch.Tensor:
        gen = torch.Generator().manual_seed(0)
        seen.clear()

        def record(step) -> None:  # type: ignore[no-untyped-def]
            seen.append(step.t_next)

        return edm_sampler(denoiser, torch.ones(1, 8), schedule, guidance=None,
                           randn_like=lambda t: torch.randn(t.shape, generator=gen), final_euler=final_euler,
                           callback=record, churn_n=5)

    edm_steps: list[float] = []
    ref_steps: list[float] = []
    run(True, edm_steps)
    n_edm = len(calls)
    calls.clear()
    run(False, ref_steps)
    assert edm_steps[-1] == 0.0 and ref_steps[-1] == float(schedule[-2])
    assert len(calls) == n_edm - 1
