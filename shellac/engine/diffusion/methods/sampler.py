"""EDM Heun sampler with a post-step hook and RePaint resampling in a scheduled phase window."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from shellac.engine.diffusion.guidance import Guidance, GuidanceOutput, RandnLike, UnconditionalGuidance
from shellac.engine.diffusion.sampler import CountingDenoiser, SamplerStep, churn_gamma
from shellac.engine.errors import ParameterError


@runtime_checkable
class PostStep(Protocol):
    """A guidance that edits the sample after each step (e.g. data-consistency replacement)."""

    def post_step(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Return the edited ``x`` at noise level ``t``."""
        ...


@dataclass(frozen=True)
class RePaintWindow:
    """U_i = u·1[φ₁N/3 ≤ i < φ₂N/3]: extra resampling cycles of step i (RePaint, Lugmayr et al. 2022).

    The phases φ₁ < φ₂ ∈ {0, 1, 2, 3} pick thirds of the N steps (0–3 = all, as in
    RePaint; 0–1 = the noisy start only), as in the VRDMG study of where
    resampling helps.
    """

    u: int = 0
    phase_start: int = 0
    phase_end: int = 3

    def __post_init__(self) -> None:
        if self.u < 0 or not 0 <= self.phase_start < self.phase_end <= 3:
            raise ParameterError(f"need u >= 0 and 0 <= phase_start < phase_end <= 3, got {self}")

    def cycles(self, index: int, n_steps: int) -> int:
        """Extra cycles at step ``index`` of ``n_steps``."""
        lo, hi = self.phase_start * n_steps / 3, self.phase_end * n_steps / 3
        return self.u if lo <= index < hi else 0


def guided_nfe(n_steps: int, window: RePaintWindow | None) -> int:
    """Denoiser calls of :func:`guided_sampler`: 2N − 1 plus two per extra cycle (one on the last step)."""
    total = 2 * n_steps - 1
    if window is not None:
        total += sum(window.cycles(i, n_steps) * (1 if i == n_steps - 1 else 2) for i in range(n_steps))
    return total


def guided_sampler(
    denoiser: Callable[[torch.Tensor, float], torch.Tensor],
    x_init: torch.Tensor,
    schedule: torch.Tensor,
    *,
    guidance: Guidance | None,
    randn_like: RandnLike,
    resampling: RePaintWindow | None = None,
    s_churn: float = 10.0,
    churn_t_range: tuple[float, float] = (0.0, 50.0),
    s_noise: float = 1.0,
    warm_start: bool = True,
    callback: Callable[[SamplerStep], None] | None = None,
) -> torch.Tensor:
    """:func:`~shellac.engine.diffusion.sampler.edm_sampler` plus a post-step hook and RePaint cycles.

    Each step is the EDM one (churn, Euler, Heun correction except on the last
    step). Then, if the guidance has ``post_step``, it edits x_next. On steps
    inside ``resampling``'s window the step is repeated U_i more times, each
    after jumping back: x ← x_next + √(t_cur² − t_next²)·ε (re-noise to t_cur),
    so the known and generated parts can harmonise. With no post-step hook and
    no resampling the result equals ``edm_sampler``'s for the same noise.

    Parameters are those of ``edm_sampler`` plus ``resampling``.
    """
    if x_init.ndim != 2:
        raise ParameterError(f"x_init must have shape [B, T], got {tuple(x_init.shape)}")
    t_steps = [float(v) for v in schedule.detach().cpu().reshape(-1)]
    if len(t_steps) < 2 or t_steps[-1] != 0.0 or min(t_steps[:-1]) <= 0.0:
        raise ParameterError("schedule must be positive noise levels followed by a final 0")
    n_steps = len(t_steps) - 1
    guide = guidance if guidance is not None else UnconditionalGuidance()
    hook = guide.post_step if isinstance(guide, PostStep) else None
    counted = denoiser if isinstance(denoiser, CountingDenoiser) else CountingDenoiser(denoiser)
    nfe_before = counted.calls

    def step(x_cur: torch.Tensor, t_cur: float, t_next: float) -> tuple[torch.Tensor, float, GuidanceOutput]:
        # Churn: raise the noise from t_cur to t_hat so earlier errors can be corrected.
        gamma = churn_gamma(t_cur, n_steps, s_churn, churn_t_range)
        t_hat = t_cur + gamma * t_cur
        x_hat = x_cur
        if gamma > 0:
            x_hat = x_cur + math.sqrt(t_hat**2 - t_cur**2) * s_noise * randn_like(x_cur)
        # Euler step from t_hat to t_next.
        out = guide(x_hat, t_hat, counted)
        d_cur = -t_hat * out.score
        x_next = x_hat + (t_next - t_hat) * d_cur
        # 2nd-order correction (Heun), skipped on the last step where t_next = 0.
        if t_next > 0:
            out = guide(x_next, t_next, counted)
            d_prime = -t_next * out.score
            x_next = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)
        if hook is not None:
            x_next = hook(x_next, t_next)
        return x_next, t_hat, out

    x_next = x_init.detach()
    if warm_start:
        x_next = x_next + t_steps[0] * randn_like(x_next)
    with torch.no_grad():
        for i, (t_cur, t_next) in enumerate(zip(t_steps[:-1], t_steps[1:], strict=True)):
            x_next, t_hat, out = step(x_next, t_cur, t_next)
            for _ in range(resampling.cycles(i, n_steps) if resampling is not None else 0):
                # Jump back: re-noise from t_next to t_cur, then take the step again.
                back = x_next + math.sqrt(t_cur**2 - t_next**2) * randn_like(x_next)
                x_next, t_hat, out = step(back, t_cur, t_next)
            if callback is not None:
                callback(SamplerStep(index=i, t_cur=t_cur, t_hat=t_hat, t_next=t_next, x=x_next,
                                     guidance=out, nfe=counted.calls - nfe_before))
    return x_next.detach()
