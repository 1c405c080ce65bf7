"""`shellac doctor` finds corrupt models, missing masters and reports readiness."""

import os
from pathlib import Path

import pytest

from shellac.cli.doctor import check_models, run_checks
from shellac.cli.main import main
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


def test_doctor_makes_the_runtimes_path_checks(catalog_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes((catalog_dir / "masters" / "a.wav").read_bytes())
    (catalog_dir / "masters" / "link.wav").symlink_to(outside)
    (catalog_dir / "masters" / "zero.wav").symlink_to("/dev/zero")
    os.mkfifo(catalog_dir / "masters" / "pipe.wav")
    (catalog_dir / "catalog.csv").write_text(
        "id,file,content\na,a.wav,piano\nlink,link.wav,piano\nzero,zero.wav,piano\npipe,pipe.wav,piano\n")
    checks = {c.name: c for c in run_checks(catalog_dir, tmp_path / "none", tmp_path, 0.0)}
    detail = checks["masters"].detail
    assert checks["masters"].level == "fail" and detail.startswith("3 problem(s)")  # of 4 masters
    assert "link: master" in detail and "outside the source root" in detail
    assert "zero: master" in detail and "is a character device (/dev/zero)" in detail
    assert "pipe: master" in detail and "is a FIFO" in detail


def test_doctor_refuses_an_output_folder_that_is_the_source_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    (store / "coll").mkdir(parents=True)
    cat = tmp_path / "cat"
    cat.mkdir()
    (cat / "catalog.csv").write_text("id,file,content\nrec1,rec1.wav,piano\n")
    (cat / "collection.toml").write_text(f'source_root = "{store / "coll"}"\noutput_root = "{store}"\n'
                                         'name = "coll"\n')
    assert main(["doctor", str(cat), "--models-dir", str(tmp_path / "m")]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] catalog:" in out and "overlaps the source root" in out and "ready" not in out
