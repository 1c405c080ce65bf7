"""STFT frame setup of the blind filters: perfect reconstruction and frame weights."""

from __future__ import annotations

import torch

from shellac.engine.operators.stft import HOP, N_BINS, N_FFT, frame_padding, frame_weights, istft, stft


def test_padding_puts_every_sample_under_two_frames() -> None:
    for length in (1, 100, N_FFT, 22050, 184184):
        left, right = frame_padding(length)
        total = left + length + right
        assert left == N_FFT - HOP
        assert right >= N_FFT - HOP
        assert (total - N_FFT) % HOP == 0


def test_stft_istft_roundtrip_is_exact() -> None:
    x = torch.randn(2, 10000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    spec = stft(x)
    assert spec.shape[:2] == (2, N_BINS)
    assert torch.allclose(istft(spec, 10000), x, atol=1e-10)


def test_frame_weight_is_the_minimum_under_the_frame() -> None:
    length = 5 * HOP
    mask = torch.ones(length)
    mask[:10] = 0.0  # touches only the frames that cover the first samples
    weights = frame_weights(mask, batch=1, length=length)
    n_frames = stft(torch.zeros(1, length)).shape[-1]
    assert weights.shape == (1, n_frames)
    # Frames 0 and 1 cover sample 0 (left pad of N_FFT − HOP); the rest do not.
    assert weights[0].tolist() == [0.0, 0.0] + [1.0] * (n_frames - 2)
