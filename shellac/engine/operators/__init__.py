"""Degradation operators: interfaces, blind filters (BABE-2, low-pass), masks, clipping and more."""

from shellac.engine.operators.bandlimit import LowpassOperator
from shellac.engine.operators.base import BlindOperator, FitReport, Operator, ProjectionOperator
from shellac.engine.operators.blind_filter import BlindFilter, BlindFilterParams
from shellac.engine.operators.clipping import ClipEstimate, ClippingOperator, estimate_clip_level
from shellac.engine.operators.consistency import KnownSamplesOperator, project, supports_projection
from shellac.engine.operators.convolution import ConvolutionOperator
from shellac.engine.operators.inpainting import InpaintingOperator, find_dropouts, gap_mask
from shellac.engine.operators.lowpass_filter import LowpassBlindFilter
from shellac.engine.operators.masked import MaskedOperator
from shellac.engine.operators.parametric import ParametricBlindFilter
from shellac.engine.operators.resampling import DecimationOperator
from shellac.engine.operators.stft_magnitude import StftMagnitudeOperator

__all__ = [
    "BlindFilter",
    "BlindFilterParams",
    "BlindOperator",
    "ClipEstimate",
    "ClippingOperator",
    "ConvolutionOperator",
    "DecimationOperator",
    "FitReport",
    "InpaintingOperator",
    "KnownSamplesOperator",
    "LowpassBlindFilter",
    "LowpassOperator",
    "MaskedOperator",
    "Operator",
    "ParametricBlindFilter",
    "ProjectionOperator",
    "StftMagnitudeOperator",
    "estimate_clip_level",
    "find_dropouts",
    "gap_mask",
    "project",
    "supports_projection",
]
