"""Degradation operator interfaces: differentiable forward models, blind ones with a fit."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any

import torch

from shellac.engine.errors import ParameterError


@dataclass(frozen=True)
class FitReport:
    """Outcome of one :meth:`BlindOperator.fit` call.

    Attributes
    ----------
    n_iters:
        Optimiser iterations run (0 when skipped).
    loss_initial, loss_final:
        Data term of the fit loss before the first and after the last update.
    regulariser:
        Weighted regulariser after the last update.
    frames_used, frames_total:
        STFT frames with non-zero weight, and all frames of the segment.
    converged:
        True when the parameter-change tolerance stopped the loop early.
    skipped:
        True when no frame had weight (nothing to fit; parameters unchanged).
    """

    n_iters: int
    loss_initial: float
    loss_final: float
    regulariser: float
    frames_used: int
    frames_total: int
    converged: bool
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of the report."""
        return asdict(self)


class Operator(ABC):
    """A degradation A: waveform ``[B, T]`` -> degraded waveform ``[B, T]``, differentiable."""

    @property
    def blind(self) -> bool:
        """Whether the operator has parameters to :meth:`BlindOperator.fit`."""
        return False

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the degradation to ``x`` ``[B, T]``; gradients must flow to ``x``."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`forward`."""
        return self.forward(x)

    @property
    def has_pseudo_inverse(self) -> bool:
        """Whether :meth:`pseudo_inverse` is implemented (False unless a subclass says so)."""
        return False

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """A⁺y: a signal ``[B, T]`` that the operator maps to ``y`` (least-norm where linear).

        Optional: operators without one raise ``ParameterError``; guidance methods
        that need it (DC, ΠGDM, DDNM) check :attr:`has_pseudo_inverse` first.
        """
        raise ParameterError(f"{type(self).__name__} has no pseudo-inverse")


class ProjectionOperator(Operator):
    """An orthogonal projection (A = Aᵀ = A²): its own pseudo-inverse, so A A⁺ A = A exactly."""

    @property
    def has_pseudo_inverse(self) -> bool:
        """Always True: a projection is its own pseudo-inverse."""
        return True

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """A⁺y = A y."""
        return self.forward(y)


class BlindOperator(Operator):
    """An operator whose parameters are estimated from data during sampling.

    The state (parameters and optimiser moments) can be saved and restored, so a
    block driver can carry it from block to block and checkpoint it.
    """

    @property
    def blind(self) -> bool:
        """Always True for a blind operator."""
        return True

    @property
    @abstractmethod
    def params(self) -> list[torch.Tensor]:
        """The trainable parameter tensors (leaf tensors with ``requires_grad``)."""

    @abstractmethod
    def fit(
        self,
        x0_hat: torch.Tensor,
        y: torch.Tensor,
        weight_mask: torch.Tensor | None = None,
    ) -> FitReport:
        """Update the parameters so that A(x0_hat) matches y.

        Parameters
        ----------
        x0_hat:
            Current clean estimate ``[B, T]`` (detached).
        y:
            Observation ``[B, T]``.
        weight_mask:
            Optional time weights ``[T]`` or ``[B, T]`` in [0, 1], one per sample;
            0 excludes a sample's frames from the fit.
        """

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Parameters, optimiser state and configuration, for checkpoints (torch.save-able)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
