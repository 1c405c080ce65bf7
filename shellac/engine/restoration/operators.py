"""Block operators for the driver: a blind filter carried across blocks, or a known operator per block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch

from shellac.engine.blocks.overlap_add import BlockSpan
from shellac.engine.operators.base import BlindOperator, Operator
from shellac.engine.operators.consistency import KnownSamplesOperator
from shellac.engine.operators.masked import MaskedOperator

# Frequencies (Hz) at which each block's filter estimate is reported.
REPORT_FREQS_HZ = np.geomspace(20.0, 11025.0, 96)


class OperatorFactory(Protocol):
    """The degradation of each block, and what of it a checkpoint keeps."""

    def block(self, span: BlockSpan, gain: float, known: torch.Tensor) -> Operator | None:
        """Operator of block ``span`` in the gain-scaled units; None: nothing to restore (y is copied).

        ``known`` (on the device) is 1 on the samples the block already knows (the
        restored end of the previous block); ``span.valid`` says where its padding starts.
        """
        ...

    def resume(self, span: BlockSpan, state: dict[str, Any] | None) -> None:
        """Take up the state a checkpoint of block ``span`` saved, instead of sampling it."""
        ...

    def state_dict(self) -> dict[str, Any] | None:
        """What a checkpoint must keep so that later blocks continue as in an uninterrupted run."""
        ...

    def report(self) -> dict[str, Any]:
        """Extra entries of the latest block's report (e.g. its filter estimate)."""
        ...


class BlindFilterOperators:
    """BABE-2's operator A(x) = m·x + (1 − m)·H_φ(x): one blind filter, carried from block to block or fresh.

    The filter and its Adam state carry over when ``carry`` (a checkpoint keeps
    them); otherwise every block starts from ``make_filter()``. With
    ``mask_aware_fit`` the samples a block already knows stay out of the filter's fit.
    The last block's padding past the recording's end is unobserved: A(x) is 0 there
    whatever x is, so it neither pulls the sample towards silence nor enters the fit
    (session 23: pulled to silence, every generative output swelled over its last
    100 ms). ``pad_observed`` keeps the BABE-2 reference's way instead: the padding
    observed as zeros through the filter.
    """

    def __init__(self, make_filter: Callable[[], BlindOperator], *, carry: bool,
                 mask_aware_fit: bool = True, pad_observed: bool = False) -> None:
        self.make_filter = make_filter
        self.carry = carry
        self.mask_aware_fit = mask_aware_fit
        self.pad_observed = pad_observed
        self.blind = make_filter()

    def _enter(self, span: BlockSpan) -> None:
        if span.index > 0 and not self.carry:
            self.blind = self.make_filter()

    def block(self, span: BlockSpan, gain: float, known: torch.Tensor) -> Operator:
        """The masked blind filter of this block (known samples stay out of the fit, padding unobserved)."""
        self._enter(span)
        observed = None
        if not self.pad_observed and span.valid < span.length:
            observed = torch.ones_like(known)
            observed[span.valid:] = 0.0
        return MaskedOperator(self.blind, known, mask_aware_fit=self.mask_aware_fit, observed=observed)

    def resume(self, span: BlockSpan, state: dict[str, Any] | None) -> None:
        """Load the filter (and Adam state) the block ended with."""
        self._enter(span)
        if state is not None:
            self.blind.load_state_dict(state)

    def state_dict(self) -> dict[str, Any]:
        """The filter's parameters and Adam state."""
        return self.blind.state_dict()

    def report(self) -> dict[str, Any]:
        """The filter's values and its response (dB) at :data:`REPORT_FREQS_HZ` below Nyquist."""
        return {"filter": self.blind.to_json() if hasattr(self.blind, "to_json") else {},
                "filter_response_db": filter_response_db(self.blind)}


def filter_response_db(blind: BlindOperator) -> list[float] | None:
    """Response (dB) of a blind filter at :data:`REPORT_FREQS_HZ` up to its Nyquist; None if it has none."""
    response = getattr(blind, "response_db", None)
    if response is None:
        return None
    nyquist = float(getattr(blind, "nyquist", REPORT_FREQS_HZ[-1]))
    freqs = REPORT_FREQS_HZ[REPORT_FREQS_HZ <= nyquist]
    return [round(float(v), 3) for v in response(freqs)]


KnownOperatorFn = Callable[[BlockSpan, float], Operator | None]
"""make_operator(span, gain): the block's degradation in the gain-scaled units, or None when the
block has nothing to restore."""


class KnownOperators:
    """A known (non-blind) operator per block, e.g. a clipping or inpainting mask; known samples enforced."""

    def __init__(self, make_operator: KnownOperatorFn) -> None:
        self.make_operator = make_operator

    def block(self, span: BlockSpan, gain: float, known: torch.Tensor) -> Operator | None:
        """The block's operator, with the already known samples folded in as observed."""
        inner = self.make_operator(span, gain)
        if inner is None:
            return None
        return KnownSamplesOperator(inner, known) if bool(known.any()) else inner

    def resume(self, span: BlockSpan, state: dict[str, Any] | None) -> None:
        """Nothing carries over between blocks."""

    def state_dict(self) -> None:
        """Nothing to keep."""
        return None

    def report(self) -> dict[str, Any]:
        """Nothing to add."""
        return {}
