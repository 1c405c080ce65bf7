"""Masked composition A(x) = m·x + (1 − m)·inner(x) for block-autoregressive restoration."""

from __future__ import annotations

from typing import Any

import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import BlindOperator, FitReport, Operator


class MaskedOperator(BlindOperator):
    """Identity where the mask is 1 (audio already restored), ``inner`` elsewhere.

    Fitting is delegated to the inner blind operator with the mask's complement
    as sample weight, so restored audio never drives the filter estimate
    (``mask_aware_fit``; False fits against all of y, as the BABE-2 reference does).

    Parameters
    ----------
    inner:
        The degradation applied where ``mask`` is 0 (e.g. a :class:`BlindFilter`).
    mask:
        ``[T]`` or ``[B, T]`` weights in [0, 1]: 1 on the overlap already written.
    mask_aware_fit:
        Keep the masked samples out of the inner operator's fit.
    """

    def __init__(self, inner: Operator, mask: torch.Tensor, *, mask_aware_fit: bool = True) -> None:
        if mask.ndim not in (1, 2):
            raise ParameterError(f"mask must be [T] or [B, T], got {tuple(mask.shape)}")
        if bool((mask < 0).any()) or bool((mask > 1).any()):
            raise ParameterError("mask values must lie in [0, 1]")
        self.inner = inner
        self.mask = mask.detach()
        self.mask_aware_fit = mask_aware_fit

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

    def _mask_for(self, x: torch.Tensor) -> torch.Tensor:
        if self.mask.shape[-1] != x.shape[-1]:
            raise ParameterError(
                f"mask length {self.mask.shape[-1]} does not match signal length {x.shape[-1]}"
            )
        return self.mask.to(dtype=x.dtype, device=x.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """m·x + (1 − m)·inner(x), differentiable in ``x``."""
        m = self._mask_for(x)
        return m * x + (1.0 - m) * self.inner.forward(x)

    def fit(
        self,
        x0_hat: torch.Tensor,
        y: torch.Tensor,
        weight_mask: torch.Tensor | None = None,
    ) -> FitReport:
        """Fit the inner operator with weight (1 − m)·weight_mask (weight_mask alone when not mask-aware)."""
        if not self.mask_aware_fit:
            return self._inner_blind().fit(x0_hat, y, weight_mask=weight_mask)
        weight = 1.0 - self._mask_for(x0_hat)
        if weight_mask is not None:
            weight = weight * weight_mask.to(dtype=weight.dtype, device=weight.device)
        return self._inner_blind().fit(x0_hat, y, weight_mask=weight)

    def state_dict(self) -> dict[str, Any]:
        """The inner operator's state (the mask belongs to the block, not the filter)."""
        return self._inner_blind().state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the inner operator's state."""
        self._inner_blind().load_state_dict(state)
