"""The shellac command line: status output, restore of one file, argument errors."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from prefect.states import Completed, State

from shellac.cli.main import build_parser, main
from shellac.stages.chain import job_plan, run_plan
from shellac.stages.state import load_state, save_state

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
    from shellac.stages.code_hash import stage_code_hash
    from shellac.stages.registry import get_stage

    assert rows["a"]["stages"]["ltas_eq"]["code_hash"] == stage_code_hash(get_stage("ltas_eq"))
    assert [e["line"] for e in data["catalog_errors"]] == [6, 7]
    assert main(["status", str(catalog_dir)]) == 0
    text = capsys.readouterr().out
    assert "ingest✓ denoise✓ ltas_eq✓ tag✓" in text
    assert "rejected: catalog.csv line 6" in text
    assert "quality gate" not in text

    # A gate that fell back (as generative_eq records it) is named in both forms of status.
    state = load_state(Path(job.recording_dir))
    state.stages["ltas_eq"].metrics["quality_gate"] = {
        "decision": "ltas_eq", "fallback": True, "reason": "haze 0.40 flatness > 0.1", "checks": []}
    save_state(Path(job.recording_dir), state)
    assert main(["status", str(catalog_dir), "--json"]) == 0
    gate = {r["id"]: r for r in json.loads(capsys.readouterr().out)["recordings"]}["a"]["quality_gate"]
    assert gate == {"decision": "ltas_eq", "fallback": True, "reason": "haze 0.40 flatness > 0.1"}
    assert main(["status", str(catalog_dir)]) == 0
    text = capsys.readouterr().out
    assert "quality gate: access copy is the ltas_eq result (haze 0.40 flatness > 0.1)" in text


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


def test_restore_refuses_to_overwrite_or_write_among_masters(
    catalog_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shellac.engine.fixity import sha256_file

    masters = catalog_dir / "masters"
    other = tmp_path / "other-masters"
    other.mkdir()
    victim = other / "master.flac"  # another collection's read-only master
    victim.write_bytes((masters / "b.flac").read_bytes())
    victim.chmod(0o444)
    before = {p: sha256_file(p) for p in (masters / "a.wav", victim)}
    cases = [
        ([str(victim)], f"{victim} already exists: pass --overwrite"),
        ([str(masters / "a-restored.flac")], "output .*a-restored.flac .*overlaps the source root"),
        ([str(tmp_path / "o.flac"), "--work", str(masters / "work")],
         "work folder .* overlaps the source root"),
        ([str(tmp_path / "o.flac"), "--source-root", str(tmp_path)], "output .* overlaps the source root"),
    ]
    for extra, needle in cases:
        rc = main(["restore", str(masters / "a.wav"), *extra, "--profile", "ltas-only"])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
        assert re.search(needle, err), err
    assert {p: sha256_file(p) for p in before} == before
    assert sorted(p.name for p in masters.iterdir()) == ["a.wav", "b.flac", "silent.wav"]


@pytest.mark.parametrize(
    ("csv_text", "toml_extra", "needle"),
    [
        ("id,file,file,content\nx,a.wav,a.wav,piano\n", "", "column 'file' appears twice"),
        ("id,file,content\nx,a.wav,piano\n", 'profiles = "piano"\n', "'profiles' must be a table"),
    ],
)
def test_catalog_errors_are_one_clean_line_and_debug_shows_the_traceback(
    catalog_dir: Path, capsys: pytest.CaptureFixture[str], csv_text: str, toml_extra: str, needle: str,
) -> None:
    (catalog_dir / "catalog.csv").write_text(csv_text)
    if toml_extra:
        (catalog_dir / "collection.toml").write_text(
            'name = "t"\nsource_root = "masters"\noutput_root = "../out"\n' + toml_extra)
    for command in (["run"], ["rerun-failed"], ["status"], ["report"]):
        assert main([*command, str(catalog_dir)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("shellac: error: ") and err.count("\n") == 1 and needle in err
    assert main(["status", str(catalog_dir), "--debug"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and err.splitlines()[-1].startswith("shellac: error: ")


def test_unexpected_errors_are_one_line_too(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import shellac.cli.main

    def boom(args: object) -> int:
        raise PermissionError(13, "Permission denied", "/archive/out")

    monkeypatch.setattr(shellac.cli.main, "cmd_profiles", boom)
    assert main(["profiles"]) == 1
    err = capsys.readouterr().err
    assert err == ("shellac: error: PermissionError: [Errno 13] Permission denied: '/archive/out' "
                   "(run with --debug for the traceback)\n")


def test_run_names_busy_recordings_and_fails(
    catalog_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.states import Completed

    import shellac.flows

    monkeypatch.setattr(shellac.flows, "restore_collection", lambda **kw: Completed(data={
        "collection": "c", "done": 1, "failed": 0, "catalog_errors": [], "busy": ["b"], "unfinished": []}))
    assert main(["run", str(catalog_dir)]) == 1
    assert "1 busy (another run holds them; not processed by this run): b" in capsys.readouterr().out


def test_bench_help_names_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    from shellac.lab.evaluation.variants import VARIANT_KEYS

    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(key in text for key in VARIANT_KEYS)


def test_invalid_settings_name_the_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # A value the settings model refuses is bad input: one line naming the field, exit status 2.
    assert main(["train", str(tmp_path), str(tmp_path / "out"), "--spectral-weighting-db", "-3"]) == 2
    err = capsys.readouterr().err
    assert err == ("shellac: error: invalid TrainConfig: spectral_weighting_db: Input should be greater "
                   "than or equal to 0 (got -3.0)\n")


def test_restore_preset_reference_turns_every_consistency_option_off(
        catalog_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The piano profile's consistency form, floor and evidence all go: the reference restores as the
    # paper does, and the engine refuses a floor or evidence without a form.
    import shellac.flows
    from shellac.stages.profiles import load_plan

    jobs = []

    class _Failed:
        message = "captured"

        def is_completed(self) -> bool:
            return False

    def capture(job: object, return_state: bool = False) -> _Failed:
        jobs.append(job)
        return _Failed()

    monkeypatch.setattr(shellac.flows, "restore_recording", capture)
    rc = main(["restore", str(catalog_dir / "masters" / "a.wav"), str(tmp_path / "out.flac"),
               "--profile", "piano", "--preset", "reference"])
    assert rc == 1 and len(jobs) == 1
    plan = load_plan("piano", overrides=jobs[0].overrides)  # type: ignore[attr-defined]
    params = next(step.params for step in plan.steps if step.stage == "generative_eq")
    assert (params.preset, params.consistency) == ("reference", "none")  # type: ignore[attr-defined]
    assert params.consistency_floor is False and params.consistency_evidence is False  # type: ignore[attr-defined]


def test_record_standing_writes_the_card_and_refuses_a_validation_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shellac.engine.models.bundle import read_card

    from .fixtures.bundles import make_tiny_bundle

    make_tiny_bundle(tmp_path / "models", "tiny")
    scores = {"babe2_gated": {"lsd_db": 5.0, "ltas_err_db": 3.0},
              "ltas_eq": {"lsd_db": 6.0, "ltas_err_db": 2.0}, "input": {"lsd_db": 9.0, "ltas_err_db": 4.0}}
    report = {"context": {"git_commit": "c" * 40, "command": "shellac bench-heldout --kind voice"},
              "settings": {"name": "heldout-voice-t", "part": "benchmark", "overrides": {}, "kind": "voice",
                           "models": {"tenor": "tiny"}, "composers": ["monteverdi"], "seconds": 5.5,
                           "sample_rate": 22050, "seed": 0},
              "excerpts": [{"name": "00-m-tenor", "scores": scores}]}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    argv = ["record-standing", str(path), "--model", "tiny", "--models-dir", str(tmp_path / "models")]
    assert main(argv) == 0
    assert "beat LTAS-EQ on LSD in 100 %, LTAS error in 0 %" in capsys.readouterr().out
    card = read_card(tmp_path / "models" / "tiny")
    assert card.heldout is not None and card.heldout.report == "heldout-voice-t"
    path.write_text(json.dumps({**report, "settings": {**report["settings"], "part": "validation"}}))
    assert main(argv) == 2
    assert "a standing is measured on the benchmark part only" in capsys.readouterr().err


def test_models_list_shows_sigma_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """σ_data is the unit of the sampler's σ settings (inpaint refuses a start under 4 of it): listed."""
    from .fixtures.bundles import make_tiny_bundle

    make_tiny_bundle(tmp_path / "models", "tiny")
    make_tiny_bundle(tmp_path / "models", "loud", sigma_data=1.0)
    assert main(["models", "list", "--models-dir", str(tmp_path / "models")]) == 0
    text = capsys.readouterr().out
    assert re.search(r"tiny .* σ_data 0\.1 ", text) and re.search(r"loud .* σ_data 1 ", text)
    assert main(["models", "list", "--models-dir", str(tmp_path / "models"), "--json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)["bundles"]}
    assert rows["tiny"]["sigma_data"] == 0.1 and rows["loud"]["sigma_data"] == 1.0
