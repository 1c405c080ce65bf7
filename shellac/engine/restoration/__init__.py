"""Restoration of recordings of any length: the one block driver, its operators, and the BABE-2 pipeline."""

from shellac.engine.restoration.babe2 import Babe2Restoration, Babe2Settings, restore
from shellac.engine.restoration.driver import BlockRestoration, block_generator, restore_blocks
from shellac.engine.restoration.handover import ReferenceHandOver, ShellacHandOver, normalising_gain
from shellac.engine.restoration.operators import BlindFilterOperators, KnownOperators, OperatorFactory
from shellac.engine.restoration.settings import BlockSettings, SamplerSettings

__all__ = [
    "Babe2Restoration",
    "Babe2Settings",
    "BlindFilterOperators",
    "BlockRestoration",
    "BlockSettings",
    "KnownOperators",
    "OperatorFactory",
    "ReferenceHandOver",
    "SamplerSettings",
    "ShellacHandOver",
    "block_generator",
    "normalising_gain",
    "restore",
    "restore_blocks",
]
