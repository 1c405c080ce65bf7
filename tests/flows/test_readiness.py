"""`shellac doctor`'s stage-data check: an empty reference folder or a missing model is a failure."""

from __future__ import annotations

from pathlib import Path

from shellac.flows.readiness import check_stage_data, expected_deployments

REPO = Path(__file__).resolve().parents[2]


def test_empty_reference_folder_fails(catalog_dir: Path) -> None:
    (ok,) = check_stage_data(catalog_dir)
    assert ok.level == "ok"
    for wav in (catalog_dir / "reference").iterdir():
        wav.unlink()
    (bad,) = check_stage_data(catalog_dir)
    assert bad.level == "fail" and "piano-ltas/ltas_eq" in bad.detail and "holds no audio files" in bad.detail


def test_missing_model_fails(catalog_dir: Path, tmp_path: Path) -> None:
    toml = catalog_dir / "collection.toml"
    toml.write_text(toml.read_text().replace('piano = "piano-ltas"', 'piano = "piano"'))
    (bad,) = check_stage_data(catalog_dir, models_dir=tmp_path / "no-models")
    assert bad.level == "fail" and "piano/ltas_eq" in bad.detail and "piano/generative_eq" in bad.detail


def test_expected_deployments_come_from_prefect_yaml() -> None:
    expected = expected_deployments(REPO / "prefect.yaml")
    assert expected["restore-recording"] == "gpu" and expected["restore-recording-cpu"] == "cpu"
    assert expected["demo"] == "cpu" and expected["train"] == "gpu"
