"""Stage parameter defaults, and a standing's measured settings read with them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import to_jsonable_python

from shellac.stages.base import StageParams
from shellac.stages.registry import CHAIN_ORDER, STAGES


def param_defaults(params_cls: type[StageParams]) -> dict[str, Any]:
    """Every parameter of ``params_cls`` that has a default, at it, in JSON form (required ones left out)."""
    return {name: to_jsonable_python(f.get_default(call_default_factory=True))
            for name, f in params_cls.model_fields.items() if not f.is_required()}


def as_measured(measured: Mapping[str, Mapping[str, Any]], run: Mapping[str, Mapping[str, Any]]
                ) -> dict[str, dict[str, Any]]:
    """``measured`` (a held-out standing's settings, stage -> params) with every parameter of ``run``'s
    stages that it lacks set to that parameter's default.

    A parameter the measured settings lack was added to its stage since; the chain measured
    ran as the stage does at its default, so only another value departs from it
    (:meth:`~shellac.engine.models.standing.HeldoutStanding.differences`).
    """
    out = {}
    for stage, params in measured.items():
        defaults = param_defaults(STAGES[stage].params_cls) if stage in run and stage in CHAIN_ORDER else {}
        out[stage] = {**{k: v for k, v in defaults.items() if k in run[stage]}, **params}
    return out
