"""Tests for the octave-wise constant-Q transform."""

import math

import numpy as np
import pytest
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.networks.cqt import (
    OctaveCQT,
    channels_to_complex,
    complex_to_channels,
    design_octave_cqt,
    kaiser_bump,
)

FS, OCTAVES, BINS, LENGTH = 8000, 4, 12, 4000


@pytest.fixture(scope="module")
def cqt() -> OctaveCQT:
    return OctaveCQT(FS, OCTAVES, BINS, LENGTH)


def _test_signal() -> torch.Tensor:
    n = torch.arange(LENGTH, dtype=torch.float64)
    x = torch.sin(2 * math.pi * 440 * n / FS) + 0.5 * torch.cos(2 * math.pi * 1234 * n / FS + 0.3)
    return (x + 0.1 * ((n % 7) - 3) / 3).float()


def test_kaiser_bump_shape() -> None:
    w = kaiser_bump(8, 1.0)
    assert w[0] == pytest.approx(0.5)  # peak at offset 0
    assert w[4] == pytest.approx(1 / (2 * np.i0(1.0)))  # offset +-L/2: I0(0) / (2 I0(beta))
    assert np.allclose(w[1:4], w[7:4:-1])  # symmetric for even lengths


def test_design_matches_published_layout() -> None:
    piano = design_octave_cqt(22050, 7, 64, 184184)
    assert piano.time_sizes == (32, 64, 128, 256, 512, 1024, 2048)
    assert len(piano.windows) == 2 * 7 * 64 + 2
    assert len(piano.windows[0]) == 1439  # DC band
    assert len(piano.windows[7 * 64 + 1]) == 994  # Nyquist band
    assert piano.centre_frequencies_hz[0] == pytest.approx(11025 / 128, rel=1e-9)
    assert piano.centre_frequencies_hz[-1] == pytest.approx(11025, abs=1e-5)
    # Published quirk kept: Nyquist is weighted with the top octave's time size.
    assert piano.frame_weights[7 * 64 + 1] == 2048
    voice = design_octave_cqt(44100, 8, 32, 262144)
    assert voice.time_sizes == (64, 128, 256, 512, 1024, 2048, 4096, 8192)
    assert len(voice.windows[0]) == 1024


def test_forward_matches_reference_values(cqt: OctaveCQT) -> None:
    # Values computed with the published BABE-2 NSGT code on the same signal.
    coefs = cqt(_test_signal()[None])
    assert [c.shape[-1] for c in coefs] == [32, 64, 128, 256]
    assert all(c.shape[-2] == BINS and c.dtype == torch.complex64 for c in coefs)
    expected = {
        (0, 10, 5): 28.961002349853516 - 5.761833190917969j,
        (0, 9, 20): 18.996490478515625 + 18.99402618408203j,
        (2, 3, 40): -1.8089417219161987 - 3.454087257385254j,
        (2, 3, 77): -0.02670740708708763 + 3.9046599864959717j,
        (3, 5, 7): -0.0009197788895107806 + 0.0001539877848699689j,
    }
    for (octave, band, frame), value in expected.items():
        got = complex(coefs[octave][0, band, frame])
        assert got == pytest.approx(value, rel=1e-4, abs=1e-6)


def test_round_trip_equals_band_complement(cqt: OctaveCQT) -> None:
    x = torch.randn(3, LENGTH, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = cqt.inverse(cqt(x))
    assert torch.allclose(y, cqt.band_complement(x), atol=1e-12)
    # White noise loses only what lies outside the passband (DC and Nyquist bands).
    error = torch.fft.rfft(y - x)
    assert error[:, cqt.passband == 1].abs().max() < 1e-9
    assert error[:, cqt.passband == 0].abs().min() > 0


def test_round_trip_reconstructs_in_band_signal(cqt: OctaveCQT) -> None:
    gen = torch.Generator().manual_seed(1)
    spectrum = torch.randn(2, LENGTH // 2 + 1, dtype=torch.complex128, generator=gen)
    freqs = torch.fft.rfftfreq(LENGTH, 1 / FS)
    in_band = (freqs > 300) & (freqs < 3800)  # the passband is exactly 1 on 250..3884 Hz
    x = torch.fft.irfft(spectrum * in_band, n=LENGTH)
    assert torch.allclose(cqt.inverse(cqt(x)), x, atol=1e-10 * x.abs().max())
    x32 = x.float()
    assert torch.allclose(cqt.inverse(cqt(x32)), x32, atol=1e-5 * x32.abs().max())


def test_what_is_dropped(cqt: OctaveCQT) -> None:
    passband = cqt.passband
    freqs = torch.fft.rfftfreq(LENGTH, 1 / FS, dtype=torch.float64)
    assert passband[0] == 0.0  # DC
    assert torch.all(passband[freqs < 200] < 0.01)  # below the lowest band (250 Hz)
    kept = (freqs >= 250) & (freqs <= 3884)  # exactly 1 on this whole range
    assert torch.allclose(passband[kept], torch.ones_like(passband[kept]), atol=1e-12)
    assert passband[-1] < 0.5  # Nyquist itself is mostly dropped
    offset = torch.full((1, LENGTH), 0.7)
    assert cqt.inverse(cqt(offset)).abs().max() < 1e-6


def test_gradient_reaches_input(cqt: OctaveCQT) -> None:
    x = torch.randn(1, LENGTH, dtype=torch.float64, requires_grad=True)
    loss = sum((c.abs() ** 2).sum() for c in cqt(x)) + cqt.inverse(cqt(x)).pow(2).sum()
    (grad,) = torch.autograd.grad(loss, x)
    assert torch.isfinite(grad).all() and grad.abs().max() > 0


def test_gradcheck_small_transform() -> None:
    small = OctaveCQT(1000, 2, 4, 256).double()
    x = torch.randn(1, 256, dtype=torch.float64, requires_grad=True)

    def energy(signal: torch.Tensor) -> torch.Tensor:
        coefs = small(signal)
        return torch.cat([torch.view_as_real(c).flatten() for c in coefs]).sin().sum()

    assert torch.autograd.gradcheck(energy, (x,))
    assert torch.autograd.gradcheck(lambda s: small.inverse(small(s)), (x,))


def test_channel_layout_round_trip(cqt: OctaveCQT) -> None:
    coef = cqt(_test_signal()[None])[1]
    channels = complex_to_channels(coef)
    assert channels.shape == (1, 2, BINS, 64)
    assert torch.equal(channels[:, 0], coef.real) and torch.equal(channels[:, 1], coef.imag)
    assert torch.equal(channels_to_complex(channels), coef)


def test_adds_no_state_dict_entries(cqt: OctaveCQT) -> None:
    assert cqt.state_dict() == {}


def test_rejects_wrong_lengths(cqt: OctaveCQT) -> None:
    with pytest.raises(ParameterError):
        cqt(torch.zeros(1, LENGTH - 1))
    with pytest.raises(ParameterError):
        cqt.inverse(cqt(torch.zeros(1, LENGTH))[:-1])
    with pytest.raises(ParameterError):
        design_octave_cqt(8000, 0, 12, 4000)
