"""Data-consistency projections x ↦ A⁺y + (I − A⁺A)x, and known samples composed with any operator."""

from __future__ import annotations

import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator
from shellac.engine.operators.masked import MaskedOperator


def supports_projection(operator: Operator) -> bool:
    """Whether :func:`project` can be applied with ``operator`` (own projection or a pseudo-inverse)."""
    return callable(getattr(operator, "project", None)) or operator.has_pseudo_inverse


def project(operator: Operator, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Move ``x`` onto the set of signals consistent with the observation ``y``.

    Operators with their own ``project(x, y)`` (clipping, STFT magnitude, masks)
    use it; otherwise the linear formula x + A⁺(y − A x) = A⁺y + (I − A⁺A)x.

    Parameters
    ----------
    operator:
        The degradation A.
    x:
        Signal ``[B, T]`` (same amplitude units as ``y``).
    y:
        Observation, shaped like ``operator(x)``.
    """
    own = getattr(operator, "project", None)
    if callable(own):
        return own(x, y)
    if not operator.has_pseudo_inverse:
        raise ParameterError(
            f"{type(operator).__name__} has no pseudo-inverse: choose a gradient guidance (rg, rg_drho, dgg)"
        )
    return x + operator.pseudo_inverse(y - operator.forward(x))


class KnownSamplesOperator(MaskedOperator):
    """A(x) = m·x + (1 − m)·inner(x) with a consistency projection.

    The block driver marks samples it already knows (the overlap written by the
    previous block) with m = 1. The projection sets
    them to y exactly and projects the rest with ``inner``; this is the exact
    projection when ``inner`` acts sample by sample (masks, clipping) and one
    alternating-projection step otherwise (filters, resampling, convolution).

    Parameters
    ----------
    inner:
        The degradation where ``mask`` is 0.
    mask:
        ``[T]`` or ``[B, T]`` with values in {0, 1}: 1 where the sample is known.
    """

    def __init__(self, inner: Operator, mask: torch.Tensor) -> None:
        super().__init__(inner, mask)
        if bool(((mask != 0) & (mask != 1)).any()):
            raise ParameterError("KnownSamplesOperator needs a mask of exact 0s and 1s")

    @property
    def has_pseudo_inverse(self) -> bool:
        """True when the inner operator can be projected onto."""
        return supports_projection(self.inner)

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """y on the known samples, the inner pseudo-inverse (or projection of 0) elsewhere."""
        known = self._mask_for(y) > 0.5
        inner = (self.inner.pseudo_inverse(y) if self.inner.has_pseudo_inverse
                 else project(self.inner, torch.zeros_like(y), y))
        return torch.where(known, y, inner)

    def project(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Known samples ← y exactly; the others ← the inner operator's projection."""
        known = self._mask_for(x) > 0.5
        return torch.where(known, y.to(x.dtype), project(self.inner, x, y))
