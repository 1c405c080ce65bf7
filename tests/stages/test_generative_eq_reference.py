"""A published-format checkpoint made by the reference's own network restores through --preset reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.cli.main import main
from shellac.engine.models.import_babe2 import import_babe2
from shellac.stages.generative_eq import GenerativeEqParams
from shellac.stages.ltas_eq import LtasEqParams

CHECKPOINT = Path(__file__).parents[1] / "fixtures" / "babe2_reference" / "tiny_published.pt"


def test_presets_are_named_options() -> None:
    assert GenerativeEqParams(model="piano").preset == "shellac"
    assert LtasEqParams(reference="model:piano").method == "ltas"
    with pytest.raises(ValueError, match="preset"):
        GenerativeEqParams(model="piano", preset="other")


@pytest.mark.usefixtures("prefect_api")
def test_piano_profile_with_the_reference_preset_restores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    import_babe2(CHECKPOINT, models / "piano", name="piano")
    rng = np.random.default_rng(7)
    t = np.arange(22050) / 22050
    master = tmp_path / "masters" / "master.wav"  # outputs may not land among the masters
    master.parent.mkdir()
    tone = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(t.size)
    sf.write(master, tone.astype(np.float32), 22050)
    out = tmp_path / "restored.flac"
    monkeypatch.chdir(tmp_path)
    rc = main(["restore", str(master), str(out), "--profile", "piano", "--preset", "reference",
               "--models-dir", str(models), "--set", "generative_eq.n_steps=3",
               "--set", "generative_eq.filter_iters=3"])
    assert rc == 0
    audio, sr = sf.read(out)
    assert sr == 22050 and audio.shape[0] == 22050 and np.isfinite(audio).all()
    work = tmp_path / "restored.shellac-work"
    filters = json.loads(next(work.rglob("filters.json")).read_text())
    # 8000 samples at the model's 8 kHz in blocks of 4000 with 400 overlap: three blocks, each its own filter.
    assert filters["preset"] == "reference" and len(filters["blocks"]) == 3
    assert all(b["filter"]["kind"] == "ReferenceBlindFilter" for b in filters["blocks"])
    state = json.loads(next(work.rglob("state.json")).read_text())
    assert state["stages"]["generative_eq"]["metrics"]["input_kept_above_hz"] == 4000.0
