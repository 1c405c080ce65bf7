"""The denoise stage: clicks removed before hiss gating, click map written beside the audio."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pydantic import ValidationError

from shellac.stages.chain import job_plan, run_plan
from shellac.stages.denoise import DenoiseParams
from shellac.stages.state import load_state

from .helpers import job_for


def _click_master(catalog_dir: Path) -> list[int]:
    """Rewrite master a.wav with clicks at known samples (in the gated-on parts of the tone)."""
    path = catalog_dir / "masters" / "a.wav"
    audio, sr = sf.read(path)
    rng = np.random.default_rng(11)
    places = [int(sr * (k + 0.1 + 0.05 * j)) for k in range(4) for j in range(8)]
    for s in places:
        audio[s:s + 6] += 0.4 * rng.choice([-1.0, 1.0]) * np.hanning(8)[1:-1]
    path.chmod(0o644)
    sf.write(path, audio, sr, subtype="PCM_16")
    path.chmod(0o444)
    return places


def test_denoise_writes_click_map_and_repairs(catalog_dir: Path) -> None:
    places = _click_master(catalog_dir)
    job = job_for(catalog_dir, "a")
    run_plan(job, job_plan(job))
    rec = Path(job.recording_dir)
    state = load_state(rec)
    outputs = state.stages["denoise"].outputs
    assert set(outputs) == {"audio", "click_map"}
    assert outputs["click_map"].path == "01-denoise/clicks.json"
    cmap = json.loads((rec / "01-denoise" / "clicks.json").read_text())
    assert cmap["enabled"] is True and cmap["sample_rate"] == 22050
    starts = [c["start_sample"] for c in cmap["clicks"]]
    found = [p for p in places if any(s <= p + 6 and p <= s + c["length_samples"]
                                      for s, c in zip(starts, cmap["clicks"], strict=True))]
    assert len(found) >= 0.9 * len(places)
    assert all(c["status"] == "repaired" for c in cmap["clicks"])
    first = cmap["clicks"][0]
    assert first["start_s"] == round(first["start_sample"] / 22050, 6)
    metrics = state.stages["denoise"].metrics
    assert metrics["clicks_found"] == len(cmap["clicks"]) == cmap["counts"]["found"]
    assert metrics["clicks_repaired"] == metrics["clicks_found"]
    assert state.stages["denoise"].version == "4"


def test_declick_off_still_writes_an_empty_map(catalog_dir: Path) -> None:
    base = job_for(catalog_dir, "a")
    denoise = {**base.overrides.get("denoise", {}), "declick": False}
    job = base.model_copy(update={"overrides": {**base.overrides, "denoise": denoise}})
    run_plan(job, job_plan(job))
    rec = Path(job.recording_dir)
    cmap = json.loads((rec / "01-denoise" / "clicks.json").read_text())
    assert (cmap["enabled"], cmap["sample_rate"], cmap["clicks"]) == (False, 22050, [])
    assert cmap["counts"] == {"found": 0, "repaired": 0, "needs_inpainting": 0}
    assert load_state(rec).stages["denoise"].metrics["clicks_found"] == 0


def test_the_minimum_noise_floor_runs_in_the_stage(catalog_dir: Path) -> None:
    base = job_for(catalog_dir, "a")
    denoise = {**base.overrides.get("denoise", {}), "noise_profile": "minimum", "noise_floor_slope_db": 6.0}
    job = base.model_copy(update={"overrides": {**base.overrides, "denoise": denoise}})
    run_plan(job, job_plan(job))
    record = load_state(Path(job.recording_dir)).stages["denoise"]
    assert record.status == "done" and record.params["noise_profile"] == "minimum"
    # as long as the quietest tenth of the 4 s master would be
    assert record.metrics["noise_sample_s"] == 0.4


def test_the_floor_slope_is_for_the_minimum_profile_only() -> None:
    with pytest.raises(ValidationError, match="shapes the 'minimum' noise floor only"):
        DenoiseParams(noise_profile="quietest", noise_floor_slope_db=6.0)
    assert DenoiseParams(noise_profile="minimum", noise_floor_slope_db=6.0).noise_floor_slope_db == 6.0
