"""Exponential moving average of network weights, with EDM's ramp-up of the averaging length."""

from __future__ import annotations

import torch
from torch import nn


def ema_beta(step: int, ema_rate: float, rampup_ratio: float | None) -> float:
    """Decay β used after optimiser step ``step`` (1-based): ema ← β·ema + (1−β)·net.

    With a ramp, the EMA half-life (in steps) is at most ``rampup_ratio · step``,
    so early weights, which are far from the optimum, are forgotten quickly
    (Karras et al. 2022); β never exceeds ``ema_rate``.

    Parameters
    ----------
    step:
        Optimiser steps done, including this one (≥ 1).
    ema_rate:
        Target decay per step (0.9999 in BABE-2).
    rampup_ratio:
        Half-life limit as a fraction of ``step`` (EDM: 0.05); ``None`` disables the ramp.
    """
    if step < 1:
        raise ValueError(f"step counts from 1, got {step}")
    if rampup_ratio is None:
        return float(ema_rate)
    ramped = 0.5 ** (1.0 / (rampup_ratio * step))
    return float(min(ema_rate, ramped))


@torch.no_grad()
def update_ema(ema: nn.Module, net: nn.Module, beta: float) -> None:
    """Blend ``net``'s parameters into ``ema`` in place; buffers are copied as they are."""
    for dst, src in zip(ema.parameters(), net.parameters(), strict=True):
        dst.lerp_(src.detach(), 1.0 - beta)
    for dst, src in zip(ema.buffers(), net.buffers(), strict=True):
        dst.copy_(src)
