"""`shellac doctor` finds corrupt models, missing masters and reports readiness."""

from pathlib import Path

import pytest

from shellac.cli import main
from shellac.doctor import check_models, run_checks
from shellac.stages.models import ModelStore

from .fixtures.bundles import make_tiny_bundle


def test_good_and_corrupt_models(tmp_path: Path) -> None:
    make_tiny_bundle(tmp_path, "good")
    bad = make_tiny_bundle(tmp_path, "bad")
    data = bytearray((bad / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (bad / "model.safetensors").write_bytes(bytes(data))
    results = {c.name: c for c in check_models(ModelStore(tmp_path))}
    assert results["model good"].level == "ok"
    assert results["model bad"].level == "fail" and "corrupt" in results["model bad"].detail


def test_missing_master_fails(catalog_dir: Path, tmp_path: Path) -> None:
    checks = {c.name: c for c in run_checks(catalog_dir, tmp_path / "none", tmp_path, 0.0)}
    assert checks["masters"].level == "fail" and "gone" in checks["masters"].detail
    assert checks["catalog"].level == "warn"  # two rejected rows
    assert checks["models directory"].level == "warn"


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--models-dir", str(tmp_path / "m"), "--output", str(tmp_path)]) == 0
    assert "ready" in capsys.readouterr().out
    assert (
        main(["doctor", "--models-dir", str(tmp_path), "--output", str(tmp_path), "--min-free-gb", "1e9"])
        == 1
    )
    assert "FAIL] free disk" in capsys.readouterr().out
