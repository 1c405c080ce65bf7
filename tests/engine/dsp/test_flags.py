"""Flag maps carried to the model's rate: chunked (memory-map friendly) equals the one-shot mapping."""

import numpy as np
import pytest

from shellac.engine.dsp import flags
from shellac.engine.dsp.flags import model_rate_length, to_model_rate


def one_shot(marks: np.ndarray, sr: int, model_sr: int) -> np.ndarray:
    """Every flagged sample's floor and ceil position at the model rate, widened by one sample each side."""
    if sr == model_sr:
        return marks.copy()
    n_model = int(np.ceil(marks.size * model_sr / sr))
    out = np.zeros(n_model, dtype=bool)
    idx = np.flatnonzero(marks)
    for j in (np.floor(idx * model_sr / sr), np.ceil(idx * model_sr / sr)):
        out[np.clip(j.astype(int), 0, n_model - 1)] = True
    widened = out.copy()
    widened[1:] |= out[:-1]
    widened[:-1] |= out[1:]
    return widened


@pytest.mark.parametrize(("sr", "model_sr"), [(22050, 8000), (44100, 22050), (8000, 22050), (48000, 48000)])
def test_chunked_mapping_equals_one_shot(monkeypatch: pytest.MonkeyPatch, sr: int, model_sr: int) -> None:
    monkeypatch.setattr(flags, "CHUNK", 997)  # many chunk seams
    rng = np.random.default_rng(0)
    for n in (1, 7, 12345):
        marks = rng.random(n) < 0.01
        marks[:2] = marks[-2:] = True
        got = to_model_rate(marks, sr, model_sr)
        assert got.shape == (model_rate_length(n, sr, model_sr),)
        assert np.array_equal(got, one_shot(marks, sr, model_sr))


def test_a_flag_covers_its_resampled_neighbourhood() -> None:
    marks = np.zeros(441, dtype=bool)
    marks[100] = True
    # 100 · 8000/22050 = 36.28…: floor 36 and ceil 37, widened to 35…38.
    assert np.flatnonzero(to_model_rate(marks, 22050, 8000)).tolist() == [35, 36, 37, 38]
