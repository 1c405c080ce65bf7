"""`shellac doctor`'s stage-data check: an empty reference folder or a missing model is a failure."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, WorkPoolCreate
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL

from shellac.cli.main import main
from shellac.flows.readiness import PREFECT_YAML, check_server, check_stage_data, expected_deployments

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


@pytest.mark.usefixtures("prefect_api")
def test_server_checks_name_what_is_missing() -> None:
    url = str(PREFECT_API_URL.value())
    assert list(check_server(REPO / "prefect.yaml", None)) == []  # no server: nothing to check
    with get_client(sync_client=True) as client:
        for pool in ("cpu", "gpu"):
            with contextlib.suppress(ObjectNotFound):
                client.delete_work_pool(pool)
        with contextlib.suppress(ObjectNotFound):
            client.delete_global_concurrency_limit_by_name("gpu")
        found = {f.name: f for f in check_server(REPO / "prefect.yaml", url)}
        assert found["work pool gpu"].level == "fail" and "prefect work-pool create gpu" in \
            found["work pool gpu"].detail
        assert found["gpu limit"].level == "fail" and "prefect gcl create gpu" in found["gpu limit"].detail
        assert found["deployments"].level == "fail" and "restore-recording-cpu" in found["deployments"].detail

        client.create_work_pool(WorkPoolCreate(name="cpu", type="process"))
        client.create_work_pool(WorkPoolCreate(name="gpu", type="process"))
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="gpu", limit=2))
        try:
            found = {f.name: f for f in check_server(REPO / "prefect.yaml", url)}
        finally:
            client.delete_global_concurrency_limit_by_name("gpu")
            client.delete_work_pool("cpu")
            client.delete_work_pool("gpu")
    assert found["work pool cpu"].level == "warn" and "no worker online" in found["work pool cpu"].detail
    assert found["gpu limit"].level == "ok" and found["gpu limit"].detail == "2 slot(s), 0 in use"


@pytest.mark.usefixtures("prefect_api")
def test_doctor_checks_the_server_against_the_checkouts_prefect_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a server configured, `shellac doctor` reads prefect.yaml at the repository root (it
    once looked in shellac/ and stopped with FileNotFoundError) and names the missing pieces."""
    assert PREFECT_YAML == REPO / "prefect.yaml"
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    with get_client(sync_client=True) as client:
        for pool in ("cpu", "gpu"):
            with contextlib.suppress(ObjectNotFound):
                client.delete_work_pool(pool)
    assert main(["doctor", "--models-dir", str(tmp_path / "m"), "--output", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] work pool cpu: missing on the server" in out
    assert "[FAIL] deployments:" in out and "restore-recording-cpu" in out
