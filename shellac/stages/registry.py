"""Which stages exist, and the one order in which a chain may use them."""

from __future__ import annotations

from shellac.engine.errors import ShellacError
from shellac.stages import declip, denoise, generative_eq, ingest, inpaint, ltas_eq, remix, separate, tag
from shellac.stages.base import Stage

# The restoration chain, in order. A profile uses a subsequence of it.
CHAIN_ORDER: tuple[str, ...] = (
    "ingest", "declip", "denoise", "inpaint", "separate", "ltas_eq", "generative_eq", "remix", "tag",
)

# Stages with a place in the chain whose implementation has not landed yet.
PLANNED: dict[str, str] = {}

STAGES: dict[str, Stage] = {
    s.name: s
    for s in (ingest.STAGE, declip.STAGE, denoise.STAGE, inpaint.STAGE, separate.STAGE, ltas_eq.STAGE,
              generative_eq.STAGE, remix.STAGE, tag.STAGE)
}


class UnknownStageError(ShellacError):
    """A profile names a stage that does not exist or is not available in this version."""


def get_stage(name: str) -> Stage:
    """The registered stage called ``name``."""
    if name in STAGES:
        return STAGES[name]
    if name in PLANNED:
        raise UnknownStageError(
            f"stage {name!r} ({PLANNED[name]}) is not available in Shellac yet; "
            "remove it from the profile"
        )
    raise UnknownStageError(f"unknown stage {name!r}; known stages: {', '.join(CHAIN_ORDER)}")
