"""The shellac command line: status output, restore of one file, argument errors."""

import json
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from prefect.states import Completed, State

from shellac.cli import build_parser, main
from shellac.stages.chain import job_plan, run_plan

from .stages.helpers import job_for


def test_status_json_and_text(catalog_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = job_for(catalog_dir, "a")
    run_plan(job, job_plan(job))
    assert main(["status", str(catalog_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["id"]: r for r in data["recordings"]}
    assert rows["a"]["status"] == "done" and rows["b"]["status"] == "pending"
    assert list(rows["a"]["stages"]) == ["ingest", "denoise", "ltas_eq", "tag"]
    assert rows["a"]["stages"]["ltas_eq"]["status"] == "done"
    assert [e["line"] for e in data["catalog_errors"]] == [6, 7]
    assert main(["status", str(catalog_dir)]) == 0
    text = capsys.readouterr().out
    assert "ingest✓ denoise✓ ltas_eq✓ tag✓" in text
    assert "rejected: catalog.csv line 6" in text


@pytest.mark.usefixtures("prefect_api")
def test_restore_one_file(catalog_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(catalog_dir)
    out = tmp_path / "restored" / "song.flac"
    rc = main(["restore", str(catalog_dir / "masters" / "a.wav"), str(out), "--profile", "ltas-only",
              "--set", "ltas_eq.reference=reference", "--title", "Song"])
    assert rc == 0
    info = sf.info(out)
    assert (info.samplerate, info.channels) == (22050, 1)
    assert json.loads(out.with_suffix(".premis.json").read_text())["events"][-1]["stage"] == "tag"


def test_bad_set_syntax(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc = main(["restore", str(tmp_path / "x.wav"), str(tmp_path / "y.flac"), "--profile", "piano",
               "--set", "nodot=1"])
    assert rc == 2
    assert "expected STAGE.PARAM=VALUE" in capsys.readouterr().err


def test_help_lists_commands() -> None:
    text = build_parser().format_help()
    for cmd in ("run", "status", "restore", "profiles", "ltas"):
        assert cmd in text


@pytest.mark.parametrize(("argv", "fan_out"), [([], False), (["--fan-out"], True)])
def test_run_passes_its_options_to_the_collection_flow(
    catalog_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    argv: list[str], fan_out: bool,
) -> None:
    import shellac.flows

    seen: dict[str, object] = {}

    def fake_flow(**kwargs: object) -> State[Any]:
        seen.update(kwargs)
        return Completed(data={"collection": "c", "done": 2, "failed": 0, "catalog_errors": []})

    monkeypatch.setattr(shellac.flows, "restore_collection", fake_flow)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert main(["run", str(catalog_dir), "--only", "failed", *argv]) == 0
    assert seen["fan_out"] is fan_out and seen["only"] == "failed" and seen["device"] == "cpu"
    assert seen["catalog_dir"] == str(catalog_dir.resolve())
    assert "c: 2 done, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["run", "rerun-failed"])
def test_fan_out_without_a_server_is_refused_clearly(
    catalog_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str,
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):  # no server in env or profile
        assert main([command, str(catalog_dir), "--fan-out"]) == 2
    err = capsys.readouterr().err
    assert "PREFECT_API_URL is not set" in err and "docs/operations.md" in err
