"""Which stages exist, and the one order in which a chain may use them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from shellac.engine.errors import ShellacError

if TYPE_CHECKING:
    from shellac.stages.base import Stage

# The restoration chain, in order. A profile uses a subsequence of it.
CHAIN_ORDER: tuple[str, ...] = (
    "ingest", "declip", "denoise", "inpaint", "separate", "ltas_eq", "generative_eq", "remix", "tag",
)

# Stages with a place in the chain whose implementation has not landed yet.
PLANNED: dict[str, str] = {}



class _Stages(dict[str, "Stage"]):
    """Stage records by name, each the ``STAGE`` of module ``shellac.stages.<name>``, imported on
    first use: a run of model-free stages (a CPU worker's flow run) never imports the networks,
    the model bundles or demucs. (PyTorch itself still comes with the denoise and ltas_eq stages:
    noisereduce imports it whenever it is installed, and the reference LTAS-EQ is computed with it.)"""

    def __missing__(self, name: str) -> Stage:
        if name not in CHAIN_ORDER:
            raise KeyError(name)
        stage: Stage = importlib.import_module(f"shellac.stages.{name}").STAGE
        self[name] = stage
        return stage


STAGES: dict[str, Stage] = _Stages()


class UnknownStageError(ShellacError):
    """A profile names a stage that does not exist or is not available in this version."""


def get_stage(name: str) -> Stage:
    """The registered stage called ``name``."""
    if name in CHAIN_ORDER:
        return STAGES[name]
    if name in PLANNED:
        raise UnknownStageError(
            f"stage {name!r} ({PLANNED[name]}) is not available in Shellac yet; "
            "remove it from the profile"
        )
    raise UnknownStageError(f"unknown stage {name!r}; known stages: {', '.join(CHAIN_ORDER)}")
