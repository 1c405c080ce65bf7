"""Masked composition A(x) = o·(m·x + (1 − m)·inner(x)) for block-autoregressive restoration."""

from __future__ import annotations

from typing import Any

import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import BlindOperator, FitReport, Operator


class MaskedOperator(BlindOperator):
    """Identity where the mask is 1 (audio already restored), ``inner`` elsewhere, nothing where unobserved.

    Fitting is delegated to the inner blind operator with the mask's complement
    as sample weight, so restored audio never drives the filter estimate
    (``mask_aware_fit``; False fits against all of y, as the BABE-2 reference does).
    Samples outside ``observed`` (a block's padding past the recording's end) are
    zero in A(x) whatever x is, so they exert no pull on the sampler and carry no
    weight in any fit.

    Parameters
    ----------
    inner:
        The degradation applied where ``mask`` is 0 (e.g. a :class:`BlindFilter`).
    mask:
        ``[T]`` or ``[B, T]`` weights in [0, 1]: 1 on the overlap already written.
    mask_aware_fit:
        Keep the masked samples out of the inner operator's fit.
    observed:
        ``[T]`` or ``[B, T]`` weights in [0, 1], 0 where nothing was observed; None: all observed.
    """

    def __init__(self, inner: Operator, mask: torch.Tensor, *, mask_aware_fit: bool = True,
                 observed: torch.Tensor | None = None) -> None:
        for name, m in (("mask", mask), ("observed", observed)):
            if m is None:
                continue
            if m.ndim not in (1, 2):
                raise ParameterError(f"{name} must be [T] or [B, T], got {tuple(m.shape)}")
            if bool((m < 0).any()) or bool((m > 1).any()):
                raise ParameterError(f"{name} values must lie in [0, 1]")
        self.inner = inner
        self.mask = mask.detach()
        self.mask_aware_fit = mask_aware_fit
        self.observed = observed.detach() if observed is not None else None

    @property
    def blind(self) -> bool:
        """Blind when the inner operator is."""
        return self.inner.blind

    def _inner_blind(self) -> BlindOperator:
        if not isinstance(self.inner, BlindOperator):
            raise ParameterError(f"inner operator {type(self.inner).__name__} is not blind")
        return self.inner

    @property
    def params(self) -> list[torch.Tensor]:
        """The inner operator's parameters (empty when it is not blind)."""
        return self.inner.params if isinstance(self.inner, BlindOperator) else []

    def _mask_for(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        mask = self.mask if mask is None else mask
        if mask.shape[-1] != x.shape[-1]:
            raise ParameterError(
                f"mask length {mask.shape[-1]} does not match signal length {x.shape[-1]}"
            )
        return mask.to(dtype=x.dtype, device=x.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """o·(m·x + (1 − m)·inner(x)), differentiable in ``x``."""
        m = self._mask_for(x)
        out = m * x + (1.0 - m) * self.inner.forward(x)
        return out if self.observed is None else self._mask_for(x, self.observed) * out

    def fit(
        self,
        x0_hat: torch.Tensor,
        y: torch.Tensor,
        weight_mask: torch.Tensor | None = None,
    ) -> FitReport:
        """Fit the inner operator with weight o·(1 − m)·weight_mask (without 1 − m when not mask-aware)."""
        weights = [weight_mask] if weight_mask is not None else []
        if self.observed is not None:
            weights.append(self._mask_for(x0_hat, self.observed))
        if self.mask_aware_fit:
            weights.append(1.0 - self._mask_for(x0_hat))
        if not weights:
            return self._inner_blind().fit(x0_hat, y)
        weight = weights[0].to(dtype=x0_hat.dtype, device=x0_hat.device)
        for w in weights[1:]:
            weight = weight * w
        return self._inner_blind().fit(x0_hat, y, weight_mask=weight)

    def state_dict(self) -> dict[str, Any]:
        """The inner operator's state (the mask belongs to the block, not the filter)."""
        return self._inner_blind().state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the inner operator's state."""
        self._inner_blind().load_state_dict(state)
