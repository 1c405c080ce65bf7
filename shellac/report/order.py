"""Stages in chain order: a recording's stages as its plan ran them, and the columns of many plans."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shellac.stages.registry import CHAIN_ORDER
from shellac.stages.state import RecordingState

OLD_DONE = "done (earlier run)"


def chain_order(state: RecordingState) -> list[str]:
    """The recording's stages in the order its plan ran them.

    Stages recorded by an earlier run under another profile (no longer in the plan)
    follow, in the order state.json lists them, so nothing recorded is hidden.
    """
    return [*state.plan, *(name for name in state.stages if name not in state.plan)]


def stage_statuses(state: RecordingState) -> list[tuple[str, str]]:
    """(stage, status) in plan order; a stage done by an earlier run, after the first stage the
    latest run did not finish, is ``OLD_DONE``: its output is not current."""
    statuses: list[tuple[str, str]] = []
    stopped = False
    for name in state.plan:
        status = state.stages[name].status if name in state.stages else "pending"
        statuses.append((name, OLD_DONE if stopped and status == "done" else status))
        stopped = stopped or status != "done"
    return statuses


def chain_columns(plans: Iterable[Sequence[str]]) -> list[str]:
    """Every stage of ``plans`` once, in the chain's order (the order every profile follows).

    A stage the chain does not know (a plan from another version) follows, as first seen.
    """
    seen = list(dict.fromkeys(stage for plan in plans for stage in plan))
    known = sorted((s for s in seen if s in CHAIN_ORDER), key=CHAIN_ORDER.index)
    return known + [s for s in seen if s not in CHAIN_ORDER]
