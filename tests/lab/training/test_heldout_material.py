"""scripts/make_training_data.py refuses held-out material (catalogs/heldout.toml) for training."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import soundfile as sf

from tests.fixtures.modules import load_module

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def mtd():
    sys.path.insert(0, str(REPO / "scripts"))
    return load_module(REPO / "scripts" / "make_training_data.py", "make_training_data")


def test_heldout_toml_is_read(mtd):
    piano = mtd.load_heldout("piano")
    assert "MuseScore_General_Full.sf3" in piano.soundfonts
    assert {"schumann_clara", "schoenberg", "chopin", "joplin"} <= piano.composers
    assert mtd.load_heldout("voice").composers == {"josquin", "monteverdi"}
    # No training composer is held out.
    assert not set(mtd.PIANO_COMPOSERS) & piano.composers


def test_heldout_soundfont_refused_also_through_a_link(mtd, tmp_path):
    piano = mtd.load_heldout("piano")
    real = tmp_path / "MuseScore_General_Full.sf3"
    real.write_bytes(b"sf")
    link = tmp_path / "default-GM.sf3"
    link.symlink_to(real)
    for font in (real, link):
        with pytest.raises(mtd.HeldOutMaterialError, match="MuseScore_General_Full.sf3|default-GM.sf3"):
            mtd.check_training_material(piano, [font], [])
    mtd.check_training_material(piano, [tmp_path / "FluidR3_GM.sf2"], [])


def test_heldout_works_refused(mtd):
    piano = mtd.load_heldout("piano")
    corpus = "/x/site-packages/music21/corpus"
    for score in (f"{corpus}/chopin/mazurka06-1.krn", f"{corpus}/schumann_clara/opus17/movement3.xml"):
        with pytest.raises(mtd.HeldOutMaterialError, match="held-out"):
            mtd.check_training_material(piano, [], [f"{corpus}/bach/bwv1.6.mxl", score])
    allowed = [f"{corpus}/bach/bwv1.6.mxl", f"{corpus}/mozart/k80/movement1.mxl"]
    mtd.check_training_material(piano, [], allowed)
    voice = mtd.load_heldout("voice")
    with pytest.raises(mtd.HeldOutMaterialError):
        mtd.check_training_material(voice, [], [f"{corpus}/monteverdi/madrigal.3.1.rntxt"])


def test_command_line_refuses_heldout_soundfont(mtd, tmp_path, capsys):
    font = tmp_path / "MuseScore_General_Full.sf3"
    font.write_bytes(b"sf")
    with pytest.raises(SystemExit) as exc:
        mtd.main(["--out", str(tmp_path / "out"), "--kind", "piano", "--soundfont", str(font)])
    assert exc.value.code == 2
    assert "refusing" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_pools_keep_training_and_validation_apart(mtd):
    pytest.importorskip("music21")
    for kind in ("piano", "voice"):
        heldout = mtd.load_heldout(mtd.family_of(kind))
        train = {mtd.corpus_composer(p) for p in mtd.score_pool(kind, "train", heldout)}
        assert train and not train & heldout.composers
        validation = {mtd.corpus_composer(p) for p in mtd.score_pool(kind, "validation", heldout)}
        assert validation == set(heldout.validation)


def test_sung_clips_at_16_bits_and_lines_that_start_after_the_clip(mtd, tmp_path):
    # 0.6 s clips: a line whose first note comes after 0.3 s has no note inside; it is drawn again
    # (seed 1 draws such a line: before the fix it stopped the run)
    out = tmp_path / "tenor"
    assert mtd.main(["--out", str(out), "--kind", "tenor", "--clip-seconds", "0.6", "--minutes", "0.2",
                     "--sample-rate", "8000", "--seed", "1", "--bits", "16"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["bits"] == 16 and len(manifest["files"]) == 20
    info = sf.info(out / "tenor-00000.flac")
    assert (info.subtype, info.samplerate, info.frames) == ("PCM_16", 8000, 4800)


def test_sung_validation_clips_from_the_josquin_opus_files(mtd, tmp_path):
    # each josquin file parses as an opus of one-voice tunes: its tunes' parts make the piece's parts
    # (before the fix every draw had one part and the run stopped after 20 draws)
    out = tmp_path / "soprano"
    assert mtd.main(["--out", str(out), "--kind", "soprano", "--split", "validation", "--clip-seconds", "1.0",
                     "--minutes", "0.05", "--sample-rate", "8000", "--seed", "3", "--bits", "16"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["files"]) == 3
    assert all("josquin" in f["score"] for f in manifest["files"].values())
    audio, sr = sf.read(out / "soprano-00000.flac")
    assert sr == 8000 and audio.size == 8000 and abs(audio).max() > 0.1
