"""ltas_eq in 'chain' mode through the chain: the fitted chain (or why none) is recorded."""

import json
from pathlib import Path

import numpy as np
import pytest

from shellac.stages.chain import job_plan, run_plan

from .helpers import job_for


def test_chain_method_records_its_design(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a", overrides={"ltas_eq": {"reference": "reference", "method": "chain"}})
    results = run_plan(job, job_plan(job))
    assert {r.stage: r.outcome for r in results}["ltas_eq"] == "ran"
    curves = json.loads((Path(job.recording_dir) / "02-ltas_eq" / "ltas.json").read_text())
    assert curves["method"] == "chain"
    design = curves["chain"]
    gain = np.asarray(curves["applied_gain_db"])
    assert np.isfinite(gain).all() and gain.max() <= 20.0
    if design["chain"] is None:
        # A steady test tone has no quiet frames to read a noise floor from: the EQ stays flat.
        assert "noise floor" in design["not_fitted_reason"]
        assert np.all(gain == 0.0)
    else:
        assert len(design["gain_db"]) == len(design["band_centres_hz"])
    # The bounds the fit reached are in state.json too (none without a fit).
    state = json.loads((Path(job.recording_dir) / "state.json").read_text())
    assert state["stages"]["ltas_eq"]["metrics"]["chain_fit_bounds"] == design["bounds_reached"]
    assert all(b.endswith(("=low", "=high")) for b in design["bounds_reached"])


def test_strength_is_for_the_chain_method_only() -> None:
    import pytest
    from pydantic import ValidationError

    from shellac.stages.ltas_eq import LtasEqParams

    assert LtasEqParams(reference="r", method="chain", strength=0.5).strength == 0.5
    assert LtasEqParams(reference="r").strength == 1.0
    with pytest.raises(ValidationError, match="strength applies to method 'chain' only"):
        LtasEqParams(reference="r", method="ltas", strength=0.5)
    with pytest.raises(ValidationError):
        LtasEqParams(reference="r", method="chain", strength=1.5)


def _sung_material(folder: Path) -> Path:
    """Clean sung clips around A3 and around E4 (the material a register table is built from)."""
    import soundfile as sf

    from shellac.lab.synthesis import SungNote, render_melody

    folder.mkdir(parents=True)
    for i, (pitches, vowel) in enumerate([((55, 57, 59, 57, 55), "a"), ((57, 59, 57, 55, 57), "o"),
                                          ((64, 65, 67, 65, 64), "e"), ((65, 67, 69, 67, 65), "a")]):
        notes = [SungNote(0.1 + 0.5 * k, 0.45, float(p), vowel) for k, p in enumerate(pitches)]
        sf.write(folder / f"clip{i}.flac", render_melody(notes, sample_rate=22050, seed=i), 22050)
    return folder


def test_register_reference_follows_the_line(catalog_dir: Path, tmp_path: Path) -> None:
    import pytest

    from shellac.cli.main import main
    from shellac.engine.errors import ModelLoadingError

    from ..fixtures.bundles import make_tiny_bundle

    models = tmp_path / "models"
    make_tiny_bundle(models, "singer", sample_rate=22050)
    over = {"ltas_eq": {"reference": "model:singer", "method": "chain", "match_register": True}}
    job = job_for(catalog_dir, "a", models_dir=str(models), overrides=over)
    # No register.json yet: the error names the file and the command that builds it.
    with pytest.raises(ModelLoadingError, match=r"register\.json.*models register-table singer"):
        run_plan(job, job_plan(job))
    material = _sung_material(tmp_path / "clean")
    assert main(["models", "register-table", "singer", str(material), "--models-dir", str(models)]) == 0
    assert main(["models", "register-table", "singer", str(material), "--models-dir", str(models)]) == 2
    table = json.loads((models / "singer" / "register.json").read_text())
    assert table["midi"] == [55, 57, 59, 64, 65, 66, 67, 69] and table["clips"] == 4
    results = run_plan(job, job_plan(job))
    assert {r.stage: r.outcome for r in results}["ltas_eq"] == "ran"
    state = json.loads((Path(job.recording_dir) / "state.json").read_text())
    found = state["stages"]["ltas_eq"]["metrics"]["register"]
    # The test tone sings A3 (220 Hz, MIDI 57) 60 % of the time.
    assert found["used"] is True and found["median_midi"] == 57.0
    assert 0.4 < found["voiced_share"] < 0.8
    # The reference in ltas.json is the table's A3 row and unvoiced spectrum, mixed as the line sings
    # (60 % A3), not the bundle's one LTAS.
    from shellac.engine.dsp.ltas import Ltas, third_octave_smooth

    curves = json.loads((Path(job.recording_dir) / "02-ltas_eq" / "ltas.json").read_text())
    share = found["voiced_share"]
    mix = share * np.asarray(table["power"][table["midi"].index(57)]) + (1 - share) * np.asarray(
        table["unvoiced_power"])
    bins = len(curves["reference_db"])
    expected = Ltas(22050, 1024, mix).on_bins(22050, 2 * (bins - 1))
    bundle = Ltas.from_json_dict(json.loads((models / "singer" / "ltas.json").read_text()))
    band = slice(14, 280)  # 150 Hz - 3 kHz on the 2048-point grid

    def distance(power: np.ndarray) -> float:
        smooth = third_octave_smooth(power, 22050, 2 * (bins - 1))  # as ltas.json reports it
        d = np.asarray(curves["reference_db"])[band] - 10 * np.log10(smooth[band] + 1e-12)
        return float(np.sqrt(np.mean((d - d.mean()) ** 2)))

    assert distance(expected) < 0.05
    assert distance(bundle.on_bins(22050, 2 * (bins - 1))) > 5.0
    # A new table is a new reference: the step runs again.
    table["power"] = [list(np.asarray(r) * 2.0) for r in table["power"]]
    (models / "singer" / "register.json").write_text(json.dumps(table))
    assert {r.stage: r.outcome for r in run_plan(job, job_plan(job))}["ltas_eq"] == "ran"


def test_register_needs_a_model_reference_and_the_chain() -> None:
    import pytest
    from pydantic import ValidationError

    from shellac.stages.ltas_eq import LtasEqParams

    assert LtasEqParams(reference="model:voice", method="chain", match_register=True).match_register
    with pytest.raises(ValidationError, match="match_register needs"):
        LtasEqParams(reference="reference", method="chain", match_register=True)
    with pytest.raises(ValidationError, match="match_register needs"):
        LtasEqParams(reference="model:voice", match_register=True)


def test_a_recording_with_no_sung_pitch_keeps_the_bundle_reference_and_says_so(catalog_dir: Path,
                                                                               tmp_path: Path) -> None:
    import soundfile as sf

    from shellac.cli.main import main

    from ..fixtures.bundles import make_tiny_bundle

    models = tmp_path / "models"
    make_tiny_bundle(models, "singer", sample_rate=22050)
    assert main(["models", "register-table", "singer", str(_sung_material(tmp_path / "clean")),
                 "--models-dir", str(models)]) == 0
    noise = catalog_dir / "masters" / "hiss.wav"
    sf.write(noise, (0.05 * np.random.default_rng(3).standard_normal(22050 * 3)).astype(np.float32), 22050)
    over = {"ltas_eq": {"reference": "model:singer", "method": "chain", "match_register": True}}
    job = job_for(catalog_dir, "a", models_dir=str(models), overrides=over, master_path=str(noise),
                  recording_dir=str(tmp_path / "run"))
    assert {r.stage: r.outcome for r in run_plan(job, job_plan(job))}["ltas_eq"] == "ran"
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["stages"]["ltas_eq"]["metrics"]["register"] == {
        "used": False, "reason": "no sung pitch found: the register reference needs a voiced line"}


def test_register_table_refuses_a_silent_clip_or_an_empty_folder(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import soundfile as sf

    from shellac.cli.main import main

    from ..fixtures.bundles import make_tiny_bundle

    models = tmp_path / "models"
    make_tiny_bundle(models, "singer", sample_rate=22050)
    (tmp_path / "empty").mkdir()
    build = ["models", "register-table", "singer"]
    assert main([*build, str(tmp_path / "empty"), "--models-dir", str(models)]) == 2
    assert "holds no audio files" in capsys.readouterr().err
    material = _sung_material(tmp_path / "clean")
    sf.write(material / "zz-silence.wav", np.zeros(22050, dtype=np.float32), 22050)
    assert main([*build, str(material), "--models-dir", str(models)]) == 2
    assert "zz-silence.wav is silent" in capsys.readouterr().err
    assert not (models / "singer" / "register.json").exists()  # nothing half-written
