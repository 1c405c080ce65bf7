"""The generative stage's quality gate with a random-weight tiny model: the access copy falls back."""

import json
from pathlib import Path

import pytest
import torch
from mutagen.flac import FLAC

from shellac.engine.fixity import sha256_file
from shellac.engine.models.standing import HeldoutStanding, chain_settings, record_standing
from shellac.report.notes import model_standing_note
from shellac.stages.chain import job_plan, run_plan
from shellac.stages.profiles import load_plan
from shellac.stages.state import load_state

from ..fixtures.bundles import make_tiny_bundle
from .helpers import job_for

FAST = {"model": "tiny", "n_steps": 3, "filter_iters": 2}
PROFILE = """
[[steps]]
stage = "ingest"
[[steps]]
stage = "denoise"
params = { noise_profile = "quietest", prop_decrease = 0.8, n_fft = 2048 }
[[steps]]
stage = "ltas_eq"
params = { reference = "model:tiny", n_fft = 1024 }
[[steps]]
stage = "generative_eq"
params = { model = "tiny", ltas_eq_init = false, ltas_eq_objective = false }
[[steps]]
stage = "tag"
"""


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _gated_job(catalog_dir: Path, tmp_path: Path, **generative: object):  # type: ignore[no-untyped-def]
    make_tiny_bundle(tmp_path / "models", "tiny")
    (catalog_dir / "profiles").mkdir(exist_ok=True)
    (catalog_dir / "profiles" / "gated.toml").write_text(PROFILE)
    return job_for(catalog_dir, "a", profile="gated", models_dir=str(tmp_path / "models"),
                   overrides={"generative_eq": {**FAST, **generative}})


STANDING = HeldoutStanding(
    report="heldout-tiny", git_commit="0" * 40, profile="gated", measured_on="test material", excerpts=4,
    wins_percent={"vs_ltas_eq": {"lsd": 75.0, "ltas_err": 25.0},
                  "vs_input": {"lsd": 100.0, "ltas_err": 50.0}},
    means_db={"access": {"lsd_db": 9.0, "ltas_err_db": 5.5}})


def test_random_model_falls_back_to_ltas_eq_with_reason(catalog_dir: Path, tmp_path: Path) -> None:
    job = _gated_job(catalog_dir, tmp_path)
    # Measured with 51 sampler steps; this run takes 3, and its standing line says so.
    measured = load_plan("gated", search_dirs=(catalog_dir / "profiles",),
                         overrides={"generative_eq": {**FAST, "n_steps": 51}})
    settings = chain_settings((s.stage, s.params.model_dump(mode="json")) for s in measured.steps)
    record_standing(tmp_path / "models" / "tiny", STANDING.model_copy(update={"settings": settings}))
    run_plan(job, job_plan(job))
    rec = Path(job.recording_dir)
    state = load_state(rec)
    assert state is not None
    metrics = state.stages["generative_eq"].metrics
    gate = metrics["quality_gate"]
    assert gate["decision"] == "ltas_eq" and gate["fallback"] is True
    assert metrics["access_copy"] == "ltas_eq"
    failed = [c for c in gate["checks"] if not c["passed"]]
    assert failed and all(c["value"] > c["threshold"] for c in failed)
    assert gate["reason"].startswith("generative output implausibly worse than LTAS-EQ: ")
    assert all(c["name"] in gate["reason"] for c in failed)
    # The access copy's audio is the LTAS-EQ result, bit for bit; the rejected output is kept.
    stage_dir = rec / "03-generative_eq"
    assert sha256_file(stage_dir / "audio.wav") == sha256_file(rec / "02-ltas_eq" / "audio.wav")
    assert (rec / "03-generative_eq" / "generative_rejected.wav").is_file()
    assert json.loads((rec / "03-generative_eq" / "quality_gate.json").read_text()) == gate
    # What the model synthesised is reported against the untouched input, as rejected.
    assert metrics["generated_bands_hz"] == []
    tags = FLAC(rec / "a.flac")
    assert tags["SHELLAC_QUALITY_GATE"][0].startswith("fallback to LTAS-EQ: generative output implausibly")
    premis = json.loads((rec / "a.premis.json").read_text())
    event = next(e for e in premis["events"] if e["stage"] == "generative_eq")
    assert event["eventOutcomeDetail"].startswith("fallback to LTAS-EQ")
    assert event["qualityGate"]["decision"] == "ltas_eq"
    # The card's held-out standing travels with the restoration: state, tags, report note.
    standing = metrics["model_standing"]
    assert standing["below_bar"] is True and standing["excerpts"] == 4
    assert standing["wins_percent"]["vs_ltas_eq"] == {"lsd": 75.0, "ltas_err": 25.0}
    expected = ("model 'tiny' with profile 'gated' on held-out material (4 excerpts, heldout-tiny): access "
                "copies beat LTAS-EQ "
                "on LSD in 75 %, LTAS error in 25 %; beat the untouched input on LSD in 100 %, LTAS error "
                "in 50 % of excerpts; below the 80 % bar (LSD vs LTAS-EQ 75 %; LTAS error vs LTAS-EQ 25 %; "
                "LTAS error vs the untouched input 50 %); this restoration's settings differ from those "
                "measured: generative_eq.n_steps 3 (measured 51)")
    assert standing["settings_differ"] == ["generative_eq.n_steps 3 (measured 51)"]
    assert standing["summary"] == expected
    assert tags["SHELLAC_MODEL_STANDING"] == [expected]
    assert model_standing_note(state) == expected


def test_gate_off_keeps_the_generative_output(catalog_dir: Path, tmp_path: Path) -> None:
    job = _gated_job(catalog_dir, tmp_path, quality_gate=False)
    run_plan(job, job_plan(job))
    rec = Path(job.recording_dir)
    state = load_state(rec)
    assert state is not None
    metrics = state.stages["generative_eq"].metrics
    assert metrics["quality_gate"] is None and metrics["access_copy"] == "generative"
    # Measured against the untouched (denoised, pre-EQ) input, the random model's noise is new energy.
    bands = metrics["generated_bands_hz"]
    assert bands and all(100.0 <= lo <= hi <= 4000.0 for lo, hi in bands)
    curves = json.loads((rec / "03-generative_eq" / "ltas.json").read_text())
    assert len(curves["untouched_db"]) == len(curves["input_db"])
    assert curves["untouched_db"] != curves["input_db"]
    generative, ltas_eq = rec / "03-generative_eq" / "audio.wav", rec / "02-ltas_eq" / "audio.wav"
    assert sha256_file(generative) != sha256_file(ltas_eq)
    assert "SHELLAC_QUALITY_GATE" not in FLAC(rec / "a.flac")
    # A bundle without a held-out standing says so, in the state and on the access copy.
    assert metrics["model_standing"]["below_bar"] is None
    assert metrics["model_standing"]["summary"].startswith("model 'tiny' has no held-out standing")
    assert FLAC(rec / "a.flac")["SHELLAC_MODEL_STANDING"] == [metrics["model_standing"]["summary"]]


def test_posterior_consistency_pulls_a_random_model_back_to_the_observation(catalog_dir: Path,
                                                                          tmp_path: Path) -> None:
    """The same random model with the consistency step: its haze is gone (the gate's flatness check moves
    from failing to passing) and the output stays near the LTAS-EQ result, so the gate keeps it; the bands
    it did synthesise against the untouched input are still reported."""
    job = _gated_job(catalog_dir, tmp_path, consistency="posterior")
    run_plan(job, job_plan(job))
    state = load_state(Path(job.recording_dir))
    assert state is not None
    metrics = state.stages["generative_eq"].metrics
    checks = {c["name"]: c for c in metrics["quality_gate"]["checks"]}
    assert metrics["access_copy"] == "generative" and all(c["passed"] for c in checks.values())
    assert checks["haze"]["value"] < 0.05 and checks["passband_deviation_db"]["value"] < 6.0
    assert metrics["generated_bands_hz"]
