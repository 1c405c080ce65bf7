"""File denoising: clicks across chunk borders found once each, at their file positions; hiss removed."""

from pathlib import Path

import numpy as np
import pytest

from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp.denoise_file import DeclickSettings, GateSettings, denoise_file

SR = 16000


def _clicky(path: Path) -> list[int]:
    """A 5 s tone in hiss with 20 clicks, some straddling the 1 s chunk borders."""
    rng = np.random.default_rng(2)
    t = np.arange(5 * SR) / SR
    audio = 0.2 * np.sin(2 * np.pi * 330 * t) + 0.01 * rng.standard_normal(t.size)
    places = [int(SR * (k + 0.2 * j)) - 3 for k in range(1, 5) for j in range(5)]
    for s in places:
        audio[s:s + 6] += 0.5 * rng.choice([-1.0, 1.0]) * np.hanning(8)[1:-1]
    write_audio(path, audio[None], SR, bit_depth=32)
    return places


def test_clicks_are_found_once_at_file_positions_whatever_the_chunks(tmp_path: Path) -> None:
    places = _clicky(tmp_path / "in.wav")
    noise = 0.01 * np.random.default_rng(3).standard_normal(SR).astype(np.float32)
    runs = [denoise_file(tmp_path / "in.wav", tmp_path / f"out{chunk_s}.wav", noise,
                         declick_settings=DeclickSettings(), gate_settings=GateSettings(), chunk_s=chunk_s)
            for chunk_s in (1.0, 30.0)]
    (chunked, chunked_db), (whole, whole_db) = [(r.click_map, r.removed_energy_db) for r in runs]
    starts = [c.start for c in chunked.clicks]
    assert starts == [c.start for c in whole.clicks] and len(starts) == 20
    assert all(any(c.start <= p + 6 and p <= c.start + c.length for c in chunked.clicks) for p in places)
    assert chunked.sample_rate == SR and chunked.settings["threshold"] == 5.0
    # measured -19.805 dB both ways: the hiss and the clicks go, the tone stays
    assert chunked_db == pytest.approx(-19.80, abs=0.05) and whole_db == pytest.approx(chunked_db, abs=0.01)
    out, sr = read_audio(tmp_path / "out1.0.wav")
    assert sr == SR and out.shape == (1, 5 * SR)


def test_without_declicking_only_the_gate_runs(tmp_path: Path) -> None:
    _clicky(tmp_path / "in.wav")
    result = denoise_file(tmp_path / "in.wav", tmp_path / "out.wav", None,
                          declick_settings=None, gate_settings=GateSettings(prop_decrease=0.0))
    click_map, removed_db = result.click_map, result.removed_energy_db
    assert click_map.clicks == () and click_map.settings == {}
    assert removed_db == -200.0  # prop_decrease 0 removes nothing: the 1e-20 floor of the ratio


def test_declick_settings_are_the_declickers_defaults() -> None:
    import inspect
    from dataclasses import asdict

    from shellac.engine.dsp.declick import declick
    from shellac.engine.dsp.denoise_file import DeclickSettings
    from shellac.stages.denoise import DenoiseParams

    defaults = {k: v.default for k, v in inspect.signature(declick).parameters.items()
                if v.default is not inspect.Parameter.empty}
    settings = asdict(DeclickSettings())
    assert settings == {k: defaults[k] for k in settings}
    params = DenoiseParams()
    assert (params.click_ar_order, params.click_block_ms, params.click_threshold) == (128, 150.0, 5.0)
