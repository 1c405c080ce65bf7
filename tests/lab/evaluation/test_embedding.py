"""The log-mel embedding and the Fréchet distance."""

import numpy as np
import pytest

from shellac.engine.errors import ParameterError
from shellac.lab.evaluation.embedding import LogMelEmbedding, frechet_distance, mel_filterbank


def test_frechet_distance_zero_for_identical_sets() -> None:
    a = np.random.default_rng(0).standard_normal((200, 8))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_a_shifted_set_is_the_squared_shift() -> None:
    a = np.random.default_rng(0).standard_normal((200, 8))
    # Same covariance, means 0.5 apart in each of 8 dimensions: FD = 8 · 0.25 = 2.
    assert frechet_distance(a, a + 0.5) == pytest.approx(2.0, abs=1e-6)
    b = np.random.default_rng(1).standard_normal((200, 8)) * 2.0
    assert frechet_distance(a, b) > 1.0


def test_frechet_distance_needs_more_vectors_than_dimensions() -> None:
    a = np.random.default_rng(0).standard_normal((8, 8))
    with pytest.raises(ParameterError, match="at least 9"):
        frechet_distance(a, a)


def test_mel_filterbank_rows_sum_to_one() -> None:
    bank = mel_filterbank(8000, 512, 16, 50.0, 4000.0)
    assert bank.shape == (16, 257)
    np.testing.assert_allclose(bank.sum(axis=1), 1.0)


def test_embedding_is_level_invariant_and_sees_spectral_changes() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(8000)
    emb = LogMelEmbedding(sample_rate=8000, n_mels=16)
    frames = emb.frames(x)
    assert frames.shape == (1 + (8000 - emb.n_fft) // emb.hop, 16)
    np.testing.assert_allclose(emb.frames(5.0 * x), frames, atol=1e-9)
    lowpassed = np.convolve(x, np.ones(8) / 8, mode="same")
    assert frechet_distance(frames, emb.frames(lowpassed)) > 10.0
