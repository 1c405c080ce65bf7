"""Tests for the CQTdiff+ U-Net: published layouts and a tiny network end to end."""

import pytest
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.networks.cqt_unet import CQTUNet, CQTUNetConfig, babe2_piano, babe2_voice

TINY = CQTUNetConfig(
    sample_rate=8000,
    segment_length=4000,
    num_octaves=3,
    bins_per_octave=8,
    channels=(8, 16, 16),
    dilations=(1, 2, 3),
    embedding_dim=32,
)


def _fill_deterministic(network: CQTUNet) -> None:
    """Weights that do not depend on the init code (same recipe used for the pins)."""
    gen = torch.Generator().manual_seed(1234)
    state = network.state_dict()
    for key in sorted(state):
        if key.endswith("kernel"):
            continue
        r = torch.randn(state[key].shape, generator=gen)
        if key.endswith("gamma"):
            state[key] = 1 + 0.1 * r
        elif key.endswith("RFF_freq"):
            state[key] = 16 * r
        else:
            state[key] = 0.15 * r
    network.load_state_dict(state)


@pytest.fixture(scope="module")
def tiny() -> CQTUNet:
    torch.manual_seed(0)
    network = CQTUNet(TINY)
    _fill_deterministic(network)
    return network.eval()


@pytest.mark.parametrize(
    ("preset", "n_keys", "n_params", "levels"),
    [(babe2_piano, 606, 44.50e6, 7), (babe2_voice, 661, 41.37e6, 8)],
)
def test_published_layouts(preset, n_keys: int, n_params: float, levels: int) -> None:
    network = CQTUNet(preset())
    state = network.state_dict()
    assert len(state) == n_keys
    assert sum(p.numel() for p in network.parameters()) == pytest.approx(n_params, abs=0.01e6)
    first = preset().channels[0]
    shapes = {
        "embedding.RFF_freq": (1, 32),
        "embedding.MLP.0.weight": (128, 64),
        "embedding.MLP.2.weight": (256, 256),
        "downsamplerT.kernel": (8,),
        "upsamplerT.kernel": (8,),
        "downs.0.0.res_conv.weight": (first, 2, 1, 1),
        "downs.0.0.norm.0.gamma": (1, first, 1, 1),
        "downs.0.1.weight": (first, 2, 5, 3),
        "downs.0.2.H.0.weight": (first, first, 5, 3),
        "middle.0.0.proj_out.weight": (2, 256, 1, 1),
        f"ups.{levels - 1}.0.res_conv.weight": (2, first, 1, 1),
        f"ups.{levels - 1}.1.gate.0.weight": (first, 256),
    }
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key
    assert not network.embedding.RFF_freq.requires_grad
    assert network.cqt.sample_rate == preset().sample_rate


def test_tiny_forward_matches_reference_values(tiny: CQTUNet) -> None:
    # Output of the published BABE-2 network code with the same weights and inputs.
    x = 0.1 * torch.randn(2, 4000, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        y = tiny(x, torch.tensor([-1.0, 0.5]))
    assert y.shape == (2, 4000)
    expected = torch.tensor(
        [
            [-0.45372868, 0.08275402, 0.57448208, -0.01172498,
             0.45778403, -0.33971116, 0.10505738, -0.19568202],
            [1.09376657, 0.51277775, 0.40099475, -0.94169480,
             0.89285541, -0.36027059, -0.46683645, 0.20250908],
        ]
    )  # fmt: skip
    assert torch.allclose(y[:, ::500], expected, atol=2e-5)


def test_c_noise_shapes_and_gradient(tiny: CQTUNet) -> None:
    x = 0.1 * torch.randn(2, 4000, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        flat = tiny(x, torch.tensor([0.2, 0.2]))
        column = tiny(x, torch.tensor([[0.2], [0.2]]))
        scalar = tiny(x, torch.tensor(0.2))
    assert torch.allclose(flat, column) and torch.allclose(flat, scalar)
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(tiny(x, torch.zeros(2)).square().sum(), x)
    assert torch.isfinite(grad).all() and grad.abs().max() > 0


def test_short_inputs_are_padded(tiny: CQTUNet) -> None:
    x = 0.1 * torch.randn(1, 4000, generator=torch.Generator().manual_seed(4))
    x[:, 3000:] = 0
    with torch.no_grad():
        full = tiny(x, torch.zeros(1))
        short = tiny(x[:, :3000], torch.zeros(1))
    assert short.shape == (1, 3000)
    assert torch.allclose(short, full[:, :3000], atol=1e-6)
    with pytest.raises(ParameterError):
        tiny(torch.zeros(1, 4001), torch.zeros(1))


def test_band_complement_removes_dc(tiny: CQTUNet) -> None:
    x = torch.full((1, 4000), 0.5)
    assert tiny.band_complement(x).abs().max() < 1e-5
    n = torch.arange(4000, dtype=torch.float64)
    tone = torch.sin(2 * torch.pi * 1000 * n / 8000)[None].float()  # inside the passband
    assert torch.allclose(tiny.band_complement(tone), tone, atol=1e-5)


def test_config_validation() -> None:
    with pytest.raises(ParameterError):
        CQTUNetConfig(8000, 4000, 3, 8, channels=(8, 16), dilations=(1, 2, 3))
    with pytest.raises(ParameterError):
        CQTUNetConfig(8000, 4000, 3, 8, channels=(8, 12, 16), dilations=(1, 2, 3))
    with pytest.raises(ParameterError, match=r"too short .* \(4, 4, 8\)"):
        CQTUNet(CQTUNetConfig(8000, 64, 3, 8, channels=(8, 8, 8), dilations=(1, 1, 1)))


@pytest.mark.slow
@pytest.mark.parametrize("preset", [babe2_piano, babe2_voice])
def test_published_network_full_segment(preset) -> None:
    config = preset()
    network = CQTUNet(config).eval()
    x = 0.05 * torch.randn(1, config.segment_length, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = network(x, torch.tensor([0.25]))
    assert y.shape == x.shape and torch.isfinite(y).all()
