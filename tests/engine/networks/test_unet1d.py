"""Tests of the fast 1-D U-Net: shapes, length rule, presets, determinism, and that it trains."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
from pydantic import ValidationError

from shellac.engine.errors import ParameterError
from shellac.engine.networks.layers1d import resampling_kernel
from shellac.engine.networks.registry import (
    get_network_family,
    network_families,
    register_network_family,
)
from shellac.engine.networks.unet1d import UNet1D, UNet1DConfig, build_unet1d, count_parameters


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    # Tiny tensors gain nothing from threads, and on a shared 2-core machine OpenMP
    # spin-waiting makes a 1 s test take a minute.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _tiny(seed: int = 0) -> UNet1D:
    torch.manual_seed(seed)
    return UNet1D(UNet1DConfig.tiny())


@pytest.mark.parametrize(("batch", "length"), [(1, 16), (3, 48), (2, 1024), (1, 4000)])
def test_output_shape_matches_input(batch: int, length: int) -> None:
    net = _tiny()
    x = torch.randn(batch, length)
    out = net(x, torch.zeros(batch))
    assert out.shape == (batch, length)
    assert torch.isfinite(out).all()


def test_length_multiple_is_product_of_strides() -> None:
    assert UNet1DConfig.tiny().length_multiple == 16
    assert UNet1DConfig.small().length_multiple == 256
    assert UNet1D(UNet1DConfig.tiny()).length_multiple == 16


@pytest.mark.parametrize("length", [15, 17, 100, 0])
def test_bad_length_raises_parameter_error_naming_multiple(length: int) -> None:
    net = _tiny()
    with pytest.raises(ParameterError, match="multiple of 16"):
        net(torch.randn(2, length), torch.zeros(2))


def test_bad_shapes_raise_parameter_error() -> None:
    net = _tiny()
    with pytest.raises(ParameterError, match=r"\[B, T\]"):
        net(torch.randn(2, 1, 64), torch.zeros(2))
    with pytest.raises(ParameterError, match="c_noise"):
        net(torch.randn(2, 64), torch.zeros(3))


def test_scalar_c_noise_is_shared_by_the_batch() -> None:
    net = _tiny().eval()
    x = torch.randn(3, 64)
    with torch.no_grad():
        shared = net(x, torch.tensor(0.3))
        per_item = net(x, torch.full((3,), 0.3))
    torch.testing.assert_close(shared, per_item)


def test_noise_level_changes_the_output() -> None:
    net = _tiny().eval()
    x = torch.randn(1, 64)
    with torch.no_grad():
        assert not torch.allclose(net(x, torch.tensor([-2.0])), net(x, torch.tensor([1.0])))


def test_batch_items_are_independent() -> None:
    # GroupNorm (not BatchNorm): one item's output must not depend on its batch mates.
    net = _tiny().eval()
    x = torch.randn(3, 128)
    c = torch.tensor([-1.0, 0.0, 1.0])
    with torch.no_grad():
        joint = net(x, c)
        alone = net(x[1:2], c[1:2])
    torch.testing.assert_close(joint[1:2], alone, rtol=1e-5, atol=1e-6)


def test_preset_parameter_counts_are_pinned() -> None:
    assert count_parameters(UNet1D(UNet1DConfig.tiny())) == 33_072
    small = count_parameters(UNet1D(UNet1DConfig.small()))
    assert small == 3_649_568
    assert small * 4 <= 20_000_000  # ships with the repo: at most 20 MB of float32


def test_seeded_init_is_deterministic_and_pinned() -> None:
    x = torch.sin(torch.linspace(0.0, 40.0 * math.pi, 256))[None, :]
    c = torch.tensor([0.25])
    with torch.no_grad():
        a = _tiny(seed=7).eval()(x, c)
        b = _tiny(seed=7).eval()(x, c)
        other = _tiny(seed=8).eval()(x, c)
    assert torch.equal(a, b)
    assert not torch.allclose(a, other)
    assert a.std().item() == pytest.approx(0.316906, rel=1e-4)
    assert a[0, 100].item() == pytest.approx(0.210077, rel=1e-4)


def test_gradient_reaches_the_input() -> None:
    # Posterior sampling differentiates the denoiser with respect to its input.
    net = _tiny().eval()
    x = torch.randn(2, 64, requires_grad=True)
    net(x, torch.zeros(2)).square().sum().backward()
    assert x.grad is not None
    assert x.grad.abs().sum().item() > 0


def test_a_few_steps_lower_the_denoising_loss() -> None:
    torch.manual_seed(0)
    net = UNet1D(UNet1DConfig.tiny())
    t = torch.arange(512) / 512.0
    clean = torch.stack([torch.sin(2 * math.pi * f * t) for f in (5.0, 11.0, 23.0, 40.0)])
    sigma, sigma_data = 0.5, clean.std().item()
    noisy = clean + sigma * torch.randn_like(clean)
    # EDM preconditioning written out, so the raw network has a unit-variance target.
    c_in = 1.0 / math.sqrt(sigma**2 + sigma_data**2)
    c_skip = sigma_data**2 / (sigma**2 + sigma_data**2)
    c_out = sigma * sigma_data / math.sqrt(sigma**2 + sigma_data**2)
    target = (clean - c_skip * noisy) / c_out
    c_noise = torch.full((4,), math.log(sigma) / 4)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = (net(c_in * noisy, c_noise) - target).square().mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


@pytest.mark.parametrize("stride", [2, 3, 4, 5, 8])
def test_resampling_kernel_gives_exact_lengths(stride: int) -> None:
    kernel, padding = resampling_kernel(stride)
    down = torch.nn.Conv1d(1, 1, kernel, stride=stride, padding=padding)
    up = torch.nn.ConvTranspose1d(1, 1, kernel, stride=stride, padding=padding)
    x = torch.randn(1, 1, 7 * stride)
    assert down(x).shape[-1] == 7
    assert up(down(x)).shape[-1] == 7 * stride


def test_odd_strides_work_end_to_end() -> None:
    cfg = UNet1DConfig(
        channels=(8, 8, 16),
        strides=(3, 5),
        blocks_per_level=(1, 1, 1),
        attention=False,
        norm_groups=4,
        embedding_dim=16,
        n_fourier=4,
    )
    assert cfg.length_multiple == 15
    assert UNet1D(cfg)(torch.randn(1, 150), torch.zeros(1)).shape == (1, 150)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"strides": (4,)},  # one too few
        {"blocks_per_level": (1, 1)},
        {"kernel_size": 4},
        {"channels": (8, 12, 32)},  # 12 not a multiple of norm_groups=8
        {"strides": (4, 1)},
        {"attention_heads": 3},
    ],
)
def test_inconsistent_configs_are_rejected(kwargs: dict[str, object]) -> None:
    base = {"channels": (8, 16, 32), "strides": (4, 4), "blocks_per_level": (1, 1, 1)}
    with pytest.raises(ValidationError):
        UNet1DConfig(**{**base, **kwargs})


def test_config_is_frozen_and_round_trips_through_json() -> None:
    cfg = UNet1DConfig.small()
    with pytest.raises(ValidationError):
        cfg.kernel_size = 3  # type: ignore[misc]
    assert UNet1DConfig.model_validate_json(cfg.model_dump_json()) == cfg


def test_unet1d_family_is_registered() -> None:
    family = get_network_family("unet1d")
    assert family.config_cls is UNet1DConfig
    assert family.build_fn is build_unet1d
    assert "unet1d" in network_families()
    # Registering the same thing again is harmless; a different one needs replace=True.
    register_network_family("unet1d", UNet1DConfig, build_unet1d)
    with pytest.raises(ParameterError, match="already registered"):
        register_network_family("unet1d", UNet1DConfig, lambda cfg: UNet1D(cfg))
