"""Denoiser networks: the fast 1-D U-Net family and BABE-2's CQT U-Net, behind a family registry."""

from shellac.engine.networks.cqt_unet import CQTUNet, CQTUNetConfig, babe2_piano, babe2_voice
from shellac.engine.networks.registry import get_network_family, network_families, register_network_family
from shellac.engine.networks.unet1d import UNet1D, UNet1DConfig

__all__ = [
    "CQTUNet",
    "CQTUNetConfig",
    "UNet1D",
    "UNet1DConfig",
    "babe2_piano",
    "babe2_voice",
    "get_network_family",
    "network_families",
    "register_network_family",
]
