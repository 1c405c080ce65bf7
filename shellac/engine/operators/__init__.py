"""Degradation operators: interfaces, the BABE-2 blind filter, the low-pass baseline, masking."""

from shellac.engine.operators.base import BlindOperator, FitReport, Operator
from shellac.engine.operators.blind_filter import BlindFilter, BlindFilterParams
from shellac.engine.operators.lowpass_filter import LowpassBlindFilter
from shellac.engine.operators.masked import MaskedOperator
from shellac.engine.operators.parametric import ParametricBlindFilter

__all__ = [
    "BlindFilter",
    "BlindFilterParams",
    "BlindOperator",
    "FitReport",
    "LowpassBlindFilter",
    "MaskedOperator",
    "Operator",
    "ParametricBlindFilter",
]
