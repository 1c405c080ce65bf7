"""Flows know stages only through their records: no stage or parameter name, no model constant."""

import ast
from pathlib import Path

import pytest

import shellac.flows
from shellac.stages.registry import STAGES
from shellac.stages.separate import HTDEMUCS_SEGMENT_S

FLOW_MODULES = sorted(Path(shellac.flows.__file__).parent.glob("*.py"))


def _constants(path: Path) -> set[object]:
    return {node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)}


@pytest.mark.parametrize("path", FLOW_MODULES, ids=lambda p: p.name)
def test_flow_module_names_no_stage_or_stage_parameter(path: Path) -> None:
    stage_names = set(STAGES)
    parameter_names = {field for stage in STAGES.values() for field in stage.params_cls.model_fields}
    constants = _constants(path)
    assert not constants & stage_names
    assert not constants & parameter_names
    assert HTDEMUCS_SEGMENT_S not in constants


def test_every_flow_module_is_scanned() -> None:
    expected = {"gpu.py", "tasks.py", "fanout.py", "recording.py", "collection.py"}
    assert {p.name for p in FLOW_MODULES} >= expected
