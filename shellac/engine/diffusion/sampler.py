"""EDM stochastic sampler (Heun 2nd order with churn) driven by a pluggable guidance, with RePaint cycles."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from shellac.engine.diffusion.guidance import (
    Denoiser,
    Guidance,
    GuidanceOutput,
    RandnLike,
    UnconditionalGuidance,
)
from shellac.engine.errors import ParameterError


class CountingDenoiser:
    """Wrap a denoiser and count its evaluations (one per batched call)."""

    def __init__(self, denoiser: Denoiser) -> None:
        self.denoiser = denoiser
        self.calls = 0

    def __call__(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """Evaluate the wrapped denoiser and count the call."""
        self.calls += 1
        return self.denoiser(x, sigma)


@dataclass(frozen=True)
class SamplerStep:
    """State after one sampler step, handed to the callback.

    ``t_cur`` → ``t_hat`` (after churn) → ``t_next`` are noise levels (amplitude
    units); ``nfe`` is the cumulative number of denoiser evaluations so far;
    ``guidance`` is the output of the step's last guidance call.
    """

    index: int
    t_cur: float
    t_hat: float
    t_next: float
    x: torch.Tensor
    guidance: GuidanceOutput
    nfe: int


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


def expected_nfe(n_steps: int, resampling: RePaintWindow | None = None) -> int:
    """Denoiser calls of an N-step run: 2N − 1 (Euler last step) plus two per RePaint cycle (one last)."""
    total = 2 * n_steps - 1
    if resampling is not None:
        total += sum(resampling.cycles(i, n_steps) * (1 if i == n_steps - 1 else 2) for i in range(n_steps))
    return total


def churn_gamma(t_cur: float, n_steps: int, s_churn: float, churn_t_range: tuple[float, float]) -> float:
    """γ_i = min(S_churn/N, √2 − 1) when t_min < t_cur < t_max, else 0."""
    t_min, t_max = churn_t_range
    if t_min < t_cur < t_max:
        return min(s_churn / n_steps, math.sqrt(2.0) - 1.0)
    return 0.0


def edm_sampler(
    denoiser: Denoiser,
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
    churn_n: int | None = None,
    final_euler: bool = True,
) -> torch.Tensor:
    """Integrate the probability-flow ODE with churn from ``schedule[0]`` down to 0.

    Each step: churn, an Euler step, and Heun's correction except on the last
    step. A guidance with a ``post_step`` hook (:class:`PostStep`) then edits
    the step's result. On steps inside ``resampling``'s window the step is
    repeated U_i more times, each after jumping back: x ← x_next +
    √(t_cur² − t_next²)·ε (re-noise to t_cur), so known and generated parts can
    harmonise.

    Parameters
    ----------
    denoiser:
        D(x [B, T], σ) -> [B, T], e.g. an :class:`EDMPrecond`.
    x_init:
        ``[B, T]`` starting point. With ``warm_start`` it is a clean-ish estimate
        (e.g. the LTAS-equalised recording) and σ_start·ε is added; without, it
        must already be noisy at level ``schedule[0]``.
    schedule:
        Noise levels t_0 > … > t_{N−1} > t_N = 0 (see :func:`restoration_schedule`).
    guidance:
        Supplies the score (see :class:`Guidance`); None means unconditional.
    randn_like:
        The only source of randomness: standard normal noise shaped like its argument.
    resampling:
        RePaint cycles per step (None: none).
    s_churn:
        S_churn; γ = min(S_churn/N, √2 − 1) on steps with t in ``churn_t_range``.
    churn_t_range:
        Open interval (t_min, t_max) of noise levels where churn applies.
    s_noise:
        Scale of the churn noise (1 in BABE-2).
    warm_start:
        Add σ_start·ε to ``x_init`` before the first step.
    callback:
        Called after every step with a :class:`SamplerStep`.
    churn_n:
        The N of γ = min(S_churn/N, √2 − 1); None: the number of steps. The
        BABE-2 reference divides by the schedule's length, N + 1.
    final_euler:
        Take the last step, σ_min → 0, as an Euler step (the EDM sampler). False
        (the BABE-2 reference): stop after N − 1 steps and return x at σ_min.

    Returns
    -------
    torch.Tensor
        The sample at t = 0, detached, ``[B, T]``. The run costs
        :func:`expected_nfe` denoiser evaluations.
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
        # Churn: raise the noise level from t_cur to t_hat by adding fresh noise,
        # which lets the sampler correct errors made on earlier steps.
        gamma = churn_gamma(t_cur, churn_n or n_steps, s_churn, churn_t_range)
        t_hat = t_cur + gamma * t_cur
        x_hat = x_cur
        if gamma > 0:
            x_hat = x_cur + math.sqrt(t_hat**2 - t_cur**2) * s_noise * randn_like(x_cur)
        # Euler step: dx/dt = −t·score, from t_hat to t_next.
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
            if t_next == 0.0 and not final_euler:
                break
            x_next, t_hat, out = step(x_next, t_cur, t_next)
            for _ in range(resampling.cycles(i, n_steps) if resampling is not None else 0):
                # Jump back: re-noise from t_next to t_cur, then take the step again.
                back = x_next + math.sqrt(t_cur**2 - t_next**2) * randn_like(x_next)
                x_next, t_hat, out = step(back, t_cur, t_next)
            if callback is not None:
                callback(SamplerStep(index=i, t_cur=t_cur, t_hat=t_hat, t_next=t_next, x=x_next,
                                     guidance=out, nfe=counted.calls - nfe_before))
    return x_next.detach()
