"""The remix stage: files in the mix's layout, rate and length; accompaniment equalised to a reference."""

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp import mix
from shellac.engine.dsp.mix import remix
from shellac.engine.dsp.resample import resample
from shellac.engine.stems import to_layout
from shellac.stages.base import MasterInfo, StageContext
from shellac.stages.models import ModelStore
from shellac.stages.remix import RemixParams, run
from tests.fixtures.stems import SR, restore, stems


def _ctx(tmp_path: Path) -> StageContext:
    stage_dir = tmp_path / "05-remix"
    stage_dir.mkdir()
    return StageContext(recording_id="r", metadata={}, master=MasterInfo(tmp_path / "m.wav"),
                        recording_dir=tmp_path, stage_dir=stage_dir, base_dir=tmp_path,
                        models=ModelStore(tmp_path / "models"), code_hash="test")


def test_stage_keeps_the_mix_layout_rate_and_length(tmp_path: Path) -> None:
    vocals, accompaniment = stems(seconds=2.0, channels=1)
    frames = vocals.shape[1]
    stereo_mix = np.tile(vocals + accompaniment, (2, 1))
    files = {"mix": stereo_mix, "vocals": np.tile(vocals, (2, 1)),
             "accompaniment": np.tile(accompaniment, (2, 1))}
    paths = {}
    for name, audio in files.items():
        paths[name] = tmp_path / f"{name}.wav"
        write_audio(paths[name], audio, SR, bit_depth=32)
    # The restored vocals come back mono, at 44.1 kHz and slightly long, as a generative stage might.
    restored = resample(restore(vocals), SR, 2 * SR)
    paths["audio"] = tmp_path / "restored.wav"
    write_audio(paths["audio"], np.pad(restored, ((0, 0), (0, 100))), 2 * SR, bit_depth=32)
    output = run(paths, RemixParams(), _ctx(tmp_path))
    out, sr = read_audio(output.artifacts["audio"])
    assert sr == SR and out.shape == (2, frames)
    assert output.metrics["lag_samples"] == 0
    assert output.metrics["balance_after_db"] == pytest.approx(6.0, abs=0.1)
    assert output.metrics["accompaniment_eq"] is False


def test_stage_equalises_accompaniment_towards_a_reference(tmp_path: Path) -> None:
    vocals, accompaniment = stems(seconds=2.0)
    paths = {}
    for name, audio in {"mix": vocals + accompaniment, "vocals": vocals,
                        "accompaniment": accompaniment, "audio": vocals}.items():
        paths[name] = tmp_path / f"{name}.wav"
        write_audio(paths[name], audio, SR, bit_depth=32)
    ref_dir = tmp_path / "ref"
    sos = butter(2, 1000, "low", fs=SR, output="sos")
    write_audio(ref_dir / "dark.wav", sosfilt(sos, np.random.default_rng(1).standard_normal(3 * SR)),
                SR, bit_depth=32)
    output = run(paths, RemixParams(accompaniment_reference="ref", n_fft=1024), _ctx(tmp_path))
    assert output.metrics["accompaniment_eq"] is True
    assert output.metrics["accompaniment_max_cut_db"] > 10  # white noise cut towards a dark reference
    assert "accompaniment_ltas" in output.artifacts
    assert output.metrics["balance_after_db"] == pytest.approx(6.0, abs=0.1)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 2048 frames: a 5-second test recording takes over fifty of them."""
    monkeypatch.setattr(mix, "RMS_BLOCK", 512)
    monkeypatch.setattr(mix, "CHUNK_FRAMES", 2048)


def test_stage_output_is_the_whole_array_remix(tmp_path: Path, small_chunks: None) -> None:
    rng = np.random.default_rng(5)
    band = butter(2, [300, 3000], "bandpass", fs=SR, output="sos")
    vocals = np.tile(sosfilt(band, rng.standard_normal(5 * SR)), (2, 1)) * 0.3
    accompaniment = 0.2 * rng.standard_normal((2, vocals.shape[1]))
    paths = {name: tmp_path / f"{name}.wav" for name in ("mix", "vocals", "accompaniment", "audio")}
    write_audio(paths["mix"], vocals + accompaniment, SR)
    write_audio(paths["vocals"], vocals, SR)
    write_audio(paths["accompaniment"], accompaniment, SR)
    # Restored vocals come back mono, at twice the rate and a little long, as a generative stage's may.
    restored = resample(0.7 * vocals[:1], SR, 2 * SR)
    write_audio(paths["audio"], np.pad(restored, ((0, 0), (0, 50))), 2 * SR)
    output = run(paths, RemixParams(loudness_target_lufs=-14.0), _ctx(tmp_path))
    streamed, sr = read_audio(output.artifacts["audio"])

    def load(name: str) -> np.ndarray:
        audio, rate = read_audio(paths[name])
        return to_layout(resample(audio, rate, SR), 2, vocals.shape[1])

    laid_out = load("accompaniment")
    whole, report = remix(load("vocals"), laid_out, load("audio"), laid_out, SR, loudness_target_lufs=-14.0)
    assert sr == SR
    np.testing.assert_array_equal(streamed, whole)
    assert {k: output.metrics[k] for k in report} == report
    assert not (tmp_path / "05-remix" / "work").exists()
