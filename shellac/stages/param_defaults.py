"""The default of every stage parameter that has one, as a held-out standing compares settings."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

from shellac.stages.base import StageParams


def param_defaults(params_cls: type[StageParams]) -> dict[str, Any]:
    """Every parameter of ``params_cls`` that has a default, at it, in JSON form (required ones left out)."""
    return {name: to_jsonable_python(f.get_default(call_default_factory=True))
            for name, f in params_cls.model_fields.items() if not f.is_required()}
