"""Issue 17's cases end as expected, with no traceback and no master changed by Shellac."""

from pathlib import Path

import pytest

from .fixtures.attacks import ATTACKS, run_attack


@pytest.mark.parametrize("index", range(len(ATTACKS)), ids=[f"{a.item} {a.name}" for a in ATTACKS])
def test_attack(tmp_path: Path, index: int) -> None:
    attack = ATTACKS[index]
    result = run_attack(attack, tmp_path)
    assert attack.expect in result.output, result.output
    assert result.exit_code == attack.exit_code, result.output
    assert result.tracebacks == 0, result.output
    assert result.masters_changed == []
