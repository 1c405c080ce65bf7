"""One operator per batch item, so a batch can mix recordings that each have their own blind filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import BlindOperator, FitReport, Operator


class StackedOperator(BlindOperator):
    """Applies ``operators[i]`` to batch item i; fitting fits each item's operator on its own item.

    Parameters
    ----------
    operators:
        One operator per batch row, e.g. a ``MaskedOperator`` around each
        recording's own ``BlindFilter``.
    """

    def __init__(self, operators: Sequence[Operator]) -> None:
        if not operators:
            raise ParameterError("a stacked operator needs at least one operator")
        self.operators = list(operators)

    @property
    def blind(self) -> bool:
        """Blind when any item's operator is."""
        return any(op.blind for op in self.operators)

    @property
    def params(self) -> list[torch.Tensor]:
        """Every item's parameters, in item order."""
        return [p for op in self.operators if isinstance(op, BlindOperator) for p in op.params]

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or x.shape[0] != len(self.operators):
            raise ParameterError(f"expected [{len(self.operators)}, T], got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Row i through operator i, differentiable in ``x``."""
        self._check(x)
        return torch.cat([op.forward(x[i : i + 1]) for i, op in enumerate(self.operators)], dim=0)

    def fit(
        self, x0_hat: torch.Tensor, y: torch.Tensor, weight_mask: torch.Tensor | None = None
    ) -> FitReport:
        """Fit each blind item's operator on its own row; the report sums them."""
        self._check(x0_hat)
        reports = []
        for i, op in enumerate(self.operators):
            if isinstance(op, BlindOperator):
                mask = (
                    None
                    if weight_mask is None
                    else weight_mask[i : i + 1]
                    if weight_mask.ndim == 2
                    else weight_mask
                )
                reports.append(op.fit(x0_hat[i : i + 1], y[i : i + 1], weight_mask=mask))
        if not reports:
            raise ParameterError("no blind operator to fit in this stack")
        return FitReport(
            n_iters=sum(r.n_iters for r in reports),
            loss_initial=sum(r.loss_initial for r in reports),
            loss_final=sum(r.loss_final for r in reports),
            regulariser=sum(r.regulariser for r in reports),
            frames_used=sum(r.frames_used for r in reports),
            frames_total=sum(r.frames_total for r in reports),
            converged=all(r.converged for r in reports),
            skipped=all(r.skipped for r in reports),
        )

    def state_dict(self) -> dict[str, Any]:
        """Each blind item's state, in item order."""
        return {
            "items": [op.state_dict() if isinstance(op, BlindOperator) else None for op in self.operators]
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore each blind item's state."""
        for op, item in zip(self.operators, state["items"], strict=True):
            if isinstance(op, BlindOperator) and item is not None:
                op.load_state_dict(item)
