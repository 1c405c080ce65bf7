"""The remix stage: files in the mix's layout, rate and length; accompaniment equalised to a reference."""

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp.resample import resample
from shellac.stages.base import MasterInfo, StageContext
from shellac.stages.models import ModelStore
from shellac.stages.remix import RemixParams, run
from tests.fixtures.stems import SR, restore, stems


def _ctx(tmp_path: Path) -> StageContext:
    stage_dir = tmp_path / "05-remix"
    stage_dir.mkdir()
    return StageContext(recording_id="r", metadata={}, master=MasterInfo(tmp_path / "m.wav"),
                        recording_dir=tmp_path, stage_dir=stage_dir, base_dir=tmp_path,
                        models=ModelStore(tmp_path / "models"))


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
