"""Tests of model bundles: round trip, verification errors, atomic save, family registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from shellac.engine.dsp.ltas import Ltas
from shellac.engine.errors import ModelLoadingError, ParameterError
from shellac.engine.models import bundle as bundle_module
from shellac.engine.models.bundle import (
    BUNDLE_FILES,
    bundle_checksum,
    file_sha256,
    load_bundle,
    read_card,
    read_config,
    save_bundle,
)
from shellac.engine.models.card import BundleConfig, ModelCard
from shellac.engine.networks import registry
from shellac.engine.networks.unet1d import UNet1D, UNet1DConfig

SR = 22050
SEGMENT = 4096


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    # Tiny tensors gain nothing from threads, and on a shared 2-core machine OpenMP
    # spin-waiting makes a 1 s test take a minute.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _parts(seed: int = 0) -> tuple[UNet1D, BundleConfig, ModelCard, Ltas]:
    torch.manual_seed(seed)
    cfg = UNet1DConfig.tiny()
    net = UNet1D(cfg)
    config = BundleConfig(
        family="unet1d",
        network=cfg,
        sample_rate=SR,
        segment_length=SEGMENT,
        sigma_data=0.063,
        sigma_min=1e-5,
        sigma_max=10.0,
    )
    card = ModelCard(
        name="tiny-test",
        description="random weights for tests",
        data="none (random init)",
        sample_rate=SR,
        segment_length=SEGMENT,
        training_steps=0,
        wall_time_s=0.0,
        command="pytest",
        licence="MIT",
    )
    ltas = Ltas(sample_rate=SR, n_fft=64, power=np.linspace(1.0, 0.01, 33))
    return net, config, card, ltas


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    net, config, card, ltas = _parts()
    return save_bundle(tmp_path / "models" / "tiny-test", net, config, card, ltas)


def _edit_json(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    net, config, card, ltas = _parts()
    directory = save_bundle(tmp_path / "m", net, config, card, ltas)
    assert sorted(p.name for p in directory.iterdir()) == sorted(BUNDLE_FILES)

    loaded = load_bundle(directory)
    assert not loaded.network.training
    x, c = torch.randn(2, 256), torch.tensor([-1.0, 0.5])
    with torch.no_grad():
        assert torch.equal(net.eval()(x, c), loaded.network(x, c))
    assert loaded.config == config
    assert loaded.card.model_dump(exclude={"weights_sha256"}) == card.model_dump(exclude={"weights_sha256"})
    assert loaded.card.weights_sha256 == file_sha256(directory / "model.safetensors")
    assert loaded.reference_ltas.n_fft == 64
    np.testing.assert_array_equal(loaded.reference_ltas.power, ltas.power)
    assert loaded.checksum == bundle_checksum(directory)
    assert len(loaded.checksum) == 64


def test_an_instrument_reference_replaces_the_bundles_own(saved: Path) -> None:
    loaded = load_bundle(saved)
    assert loaded.reference() is loaded.reference_ltas
    instrument = Ltas(sample_rate=SR, n_fft=64, power=np.full(33, 2.0))
    assert loaded.reference(instrument) is instrument


def test_ltas_json_is_stored_as_given(saved: Path) -> None:
    stored = json.loads((saved / "ltas.json").read_text())
    assert stored["sample_rate"] == SR
    assert stored["n_fft"] == 64
    assert len(stored["power"]) == 33
    assert stored["power"][0] == 1.0


def test_ltas_may_be_given_as_a_json_dict(tmp_path: Path) -> None:
    net, config, card, ltas = _parts()
    a = save_bundle(tmp_path / "a", net, config, card, ltas)
    b = save_bundle(tmp_path / "b", net, config, card, ltas.to_json_dict())
    assert bundle_checksum(a) == bundle_checksum(b)


def test_read_card_and_config_do_not_need_the_weights(saved: Path) -> None:
    (saved / "model.safetensors").unlink()
    card = read_card(saved)
    assert card.name == "tiny-test"
    assert card.training_steps == 0
    assert read_config(saved).network["channels"] == [8, 16, 32]


def test_bundle_checksum_tracks_weights_config_and_ltas_not_the_card(saved: Path) -> None:
    before = bundle_checksum(saved)
    _edit_json(saved / "card.json", description="edited")
    assert bundle_checksum(saved) == before
    _edit_json(saved / "config.json", sigma_data=1.0)
    after_config = bundle_checksum(saved)
    assert after_config != before
    _edit_json(saved / "ltas.json", power=[1.0] * 33)
    assert bundle_checksum(saved) != after_config


def test_checksum_mismatch_is_refused(saved: Path) -> None:
    weights = saved / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01  # flip one bit of the last tensor's data: still a valid file
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelLoadingError) as info:
        load_bundle(saved)
    message = str(info.value)
    assert "checksum mismatch" in message
    assert str(weights) in message
    assert "shellac models import" in message


@pytest.mark.parametrize("name", BUNDLE_FILES)
def test_missing_file_is_refused(saved: Path, name: str) -> None:
    (saved / name).unlink()
    with pytest.raises(ModelLoadingError, match=f"missing {name}") as info:
        load_bundle(saved)
    assert "model.safetensors" in str(info.value)  # the expected layout is spelled out
    if name != "card.json":  # the checksum covers everything but the card
        with pytest.raises(ModelLoadingError, match=f"missing {name}"):
            bundle_checksum(saved)


def test_missing_directory_says_where_bundles_go(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadingError, match="no model bundle at") as info:
        load_bundle(tmp_path / "nope")
    assert "<models dir>/<name>/" in str(info.value)


@pytest.mark.parametrize("version", [99, 0, None, "1"])
def test_unknown_format_version_is_refused(saved: Path, version: object) -> None:
    _edit_json(saved / "config.json", format_version=version)
    with pytest.raises(ModelLoadingError, match=f"format_version {version!r}") as info:
        load_bundle(saved)
    assert "config.json" in str(info.value)


def test_truncated_weights_fail_the_checksum(saved: Path) -> None:
    weights = saved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(ModelLoadingError, match="checksum mismatch"):
        load_bundle(saved)


def test_truncated_safetensors_with_matching_card_is_reported_as_corrupt(saved: Path) -> None:
    # A bad export: the card was sealed over an already-truncated file.
    weights = saved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    _edit_json(saved / "card.json", weights_sha256=file_sha256(weights))
    with pytest.raises(ModelLoadingError, match="not a readable safetensors file") as info:
        load_bundle(saved)
    assert str(weights) in str(info.value)


def test_weights_of_another_network_are_refused(saved: Path) -> None:
    other = UNet1DConfig(channels=(8, 16, 64), strides=(4, 4), blocks_per_level=(1, 1, 1),
                         kernel_size=3, attention_heads=2, norm_groups=4, n_fourier=8,
                         embedding_dim=32)  # fmt: skip
    _edit_json(saved / "config.json", network=other.model_dump(mode="json"))
    with pytest.raises(ModelLoadingError, match="does not fit") as info:
        load_bundle(saved)
    assert "shape mismatches" in str(info.value)


def test_unknown_family_is_refused(saved: Path) -> None:
    _edit_json(saved / "config.json", family="wavenet")
    with pytest.raises(ModelLoadingError, match="'wavenet'.*not registered"):
        load_bundle(saved)


def test_corrupt_json_is_refused(saved: Path) -> None:
    (saved / "card.json").write_text("{not json")
    with pytest.raises(ModelLoadingError, match="card.json cannot be read as JSON"):
        load_bundle(saved)


def test_inconsistent_sample_rates_are_refused_on_load(saved: Path) -> None:
    _edit_json(saved / "card.json", sample_rate=44100)
    with pytest.raises(ModelLoadingError, match="sample_rate 44100"):
        load_bundle(saved)


def test_failed_save_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net, config, card, ltas = _parts()

    def broken_save_file(*args: object, **kwargs: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(bundle_module, "save_file", broken_save_file)
    with pytest.raises(OSError, match="disk on fire"):
        save_bundle(tmp_path / "m", net, config, card, ltas)
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net, config, card, ltas = _parts()
    directory = save_bundle(tmp_path / "m", net, config, card, ltas)
    before = bundle_checksum(directory)

    def broken_write_json(*args: object, **kwargs: object) -> None:
        raise RuntimeError("serialisation failed")

    monkeypatch.setattr(bundle_module, "atomic_write_json", broken_write_json)
    net2, *_ = _parts(seed=1)
    with pytest.raises(RuntimeError, match="serialisation failed"):
        save_bundle(directory, net2, config, card, ltas, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
    assert bundle_checksum(directory) == before
    load_bundle(directory)


def test_overwrite_replaces_and_refuses_without_flag(tmp_path: Path) -> None:
    net, config, card, ltas = _parts()
    directory = save_bundle(tmp_path / "m", net, config, card, ltas)
    net2, *_ = _parts(seed=1)
    with pytest.raises(ParameterError, match="already exists"):
        save_bundle(directory, net2, config, card, ltas)
    before = bundle_checksum(directory)
    save_bundle(directory, net2, config, card, ltas, overwrite=True)
    assert bundle_checksum(directory) != before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_save_refuses_parts_that_disagree(tmp_path: Path) -> None:
    net, config, card, ltas = _parts()
    with pytest.raises(ParameterError, match="sample_rate"):
        save_bundle(tmp_path / "a", net, config, card.model_copy(update={"sample_rate": 44100}), ltas)
    with pytest.raises(ParameterError, match="44100 Hz"):
        save_bundle(tmp_path / "b", net, config, card, Ltas(44100, 64, ltas.power))
    with pytest.raises(ParameterError, match="multiple of the network's length_multiple 16"):
        save_bundle(
            tmp_path / "d",
            net,
            config.model_copy(update={"segment_length": 4100}),
            card.model_copy(update={"segment_length": 4100}),
            ltas,
        )
    small_config = config.model_copy(update={"network": UNet1DConfig.small().model_dump()})
    with pytest.raises(ParameterError, match="differs from network.config"):
        save_bundle(tmp_path / "c", net, small_config, card, ltas)
    assert list(tmp_path.iterdir()) == []


@dataclass(frozen=True)
class _GainConfig:
    """A dataclass config (the CQT family uses one), with a tuple JSON stores as a list."""

    widths: tuple[int, ...]


class _Gain(torch.nn.Module):
    """A stand-in network family: a learned per-sample gain, ignores c_noise."""

    def __init__(self, config: _GainConfig) -> None:
        super().__init__()
        self.config = config
        self.gain = torch.nn.Parameter(torch.randn(sum(config.widths)))

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        return x * self.gain


def test_registered_dataclass_family_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A copy of the registry, so the test family disappears afterwards.
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))
    registry.register_network_family("gain", _GainConfig, _Gain)
    _, config, card, ltas = _parts()
    net = _Gain(_GainConfig(widths=(3, 5)))
    config = BundleConfig.model_validate({**config.model_dump(), "family": "gain", "network": net.config})
    assert config.network == {"widths": [3, 5]}
    loaded = load_bundle(save_bundle(tmp_path / "g", net, config, card, ltas))
    assert isinstance(loaded.network, _Gain)
    assert loaded.network.config == _GainConfig(widths=(3, 5))
    assert torch.equal(loaded.network.gain, net.gain)
    # A config that differs from the network's own is refused even with equal shapes.
    other = config.model_copy(update={"network": {"widths": [5, 3]}})
    with pytest.raises(ParameterError, match="differs from network.config"):
        save_bundle(tmp_path / "h", net, other, card, ltas)


def test_register_refuses_config_classes_it_cannot_serialise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))
    with pytest.raises(ParameterError, match="pydantic model or a dataclass"):
        registry.register_network_family("bad", dict, _Gain)
