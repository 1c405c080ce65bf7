"""Tests for reading BABE-2 checkpoints safely and building their networks."""

import dataclasses
import os
import sys
import types
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import torch

from shellac.engine.errors import ModelLoadingError
from shellac.engine.models.babe2_checkpoint import (
    Babe2Checkpoint,
    build_network_from_checkpoint,
    config_from_babe2_args,
    load_babe2_checkpoint,
)
from shellac.engine.networks.cqt_unet import CQTUNet, CQTUNetConfig, babe2_piano

TINY = CQTUNetConfig(
    sample_rate=8000,
    segment_length=4000,
    num_octaves=3,
    bins_per_octave=8,
    channels=(8, 16, 16),
    dilations=(1, 2, 3),
    embedding_dim=32,
)
TINY_ARGS = {
    "network": {
        "name": "cqtdiff+",
        "use_fencoding": False,
        "use_norm": True,
        "emb_dim": 32,
        "Ns": [8, 16, 16],
        "num_dils": [1, 2, 3],
        "attention_layers": [0, 0, 0, 0],
        "bottleneck_type": "res_dil_convs",
        "num_bottleneck_layers": 1,
        "cqt": {"window": "kaiser", "beta": 1, "num_octs": 3, "bins_per_oct": 8},
    },
    "exp": {"sample_rate": 8000, "audio_len": 4000, "model_dir": "${model_dir}"},
    "diff_params": {"sigma_data": 0.063, "sigma_min": 1e-05},
    "model_dir": "experiments/maestro",
}


def _fake_omegaconf_modules() -> dict[str, types.ModuleType]:
    """Classes named and pickled like omegaconf 2.3's (DictConfig, ListConfig, AnyNode)."""
    modules = {name: types.ModuleType(name) for name in (
        "omegaconf", "omegaconf.base", "omegaconf.nodes", "omegaconf.dictconfig",
        "omegaconf.listconfig",
    )}  # fmt: skip

    @dataclasses.dataclass
    class Metadata:
        ref_type: Any
        object_type: Any
        optional: bool
        key: Any
        flags: dict
        flags_root: bool = False
        resolver_cache: dict = dataclasses.field(default_factory=lambda: defaultdict(dict))

    @dataclasses.dataclass
    class ContainerMetadata(Metadata):
        key_type: Any = Any
        element_type: Any = Any

    class AnyNode:
        def __init__(self, value: Any, key: Any, parent: Any) -> None:
            self._metadata = Metadata(Any, None, True, key, {})
            self._parent = parent
            self._val = value

        def __getstate__(self) -> dict:
            return dict(self.__dict__)

    class DictConfig:
        def __init__(self, content: dict, key: Any = None, parent: Any = None) -> None:
            flags = {"struct": True} if parent is None else {}
            self._metadata = ContainerMetadata(Any, dict, True, key, flags, key_type=Any)
            self._parent = parent
            self._content = {k: _node(v, k, self) for k, v in content.items()}

        def __getstate__(self) -> dict:
            return dict(self.__dict__)

    class ListConfig:
        def __init__(self, content: list, key: Any, parent: Any) -> None:
            self._metadata = ContainerMetadata(Any, list, True, key, {}, key_type=int)
            self._parent = parent
            self._content = [_node(v, i, self) for i, v in enumerate(content)]

        def __getstate__(self) -> dict:
            return dict(self.__dict__)

    def _node(value: Any, key: Any, parent: Any) -> Any:
        if isinstance(value, dict):
            return DictConfig(value, key, parent)
        if isinstance(value, list):
            return ListConfig(value, key, parent)
        return AnyNode(value, key, parent)

    for cls, module in (
        (Metadata, "omegaconf.base"), (ContainerMetadata, "omegaconf.base"),
        (AnyNode, "omegaconf.nodes"), (DictConfig, "omegaconf.dictconfig"),
        (ListConfig, "omegaconf.listconfig"),
    ):  # fmt: skip
        cls.__module__, cls.__qualname__ = module, cls.__name__
        setattr(modules[module], cls.__name__, cls)
    return modules


def _adam_state() -> dict:
    params = [torch.nn.Parameter(torch.zeros(3))]
    optimizer = torch.optim.Adam(params, lr=2e-4)
    params[0].grad = torch.ones(3)
    optimizer.step()
    return optimizer.state_dict()


def _tiny_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(5)
    return CQTUNet(TINY).state_dict()


def _save(path: Path, ema: dict, args: Any, **extra: Any) -> Path:
    payload = {"it": 850000, "network": ema, "optimizer": _adam_state(), "ema": ema}
    payload |= {"args": args, "LTAS": torch.linspace(1.0, 2.0, 2049)} | extra
    torch.save(payload, path)
    return path


def _save_with_fake_omegaconf(path: Path, ema: dict, args: dict) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        modules = _fake_omegaconf_modules()
        for name, module in modules.items():
            patch.setitem(sys.modules, name, module)
        _save(path, ema, modules["omegaconf.dictconfig"].DictConfig(args))
    return path


def test_loads_published_format(tmp_path: Path) -> None:
    ema = _tiny_state()
    path = _save_with_fake_omegaconf(tmp_path / "tiny.pt", ema, TINY_ARGS)
    safe_before = set(torch.serialization.get_safe_globals())
    ckpt = load_babe2_checkpoint(path)
    assert set(torch.serialization.get_safe_globals()) == safe_before  # nothing left allowed
    assert ckpt.iteration == 850000
    assert ckpt.path == path
    assert torch.equal(ckpt.reference_ltas, torch.linspace(1.0, 2.0, 2049))
    assert set(ckpt.ema) == set(ema) and all(torch.equal(ckpt.ema[k], ema[k]) for k in ema)
    assert ckpt.args == TINY_ARGS
    assert ckpt.sigma_data == pytest.approx(0.063)

    network = build_network_from_checkpoint(ckpt)
    assert network.config == TINY and not network.training
    assert not any(p.requires_grad for p in network.parameters())
    reference = CQTUNet(TINY)
    reference.load_state_dict(ema)
    x = 0.1 * torch.randn(1, 4000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(network(x, torch.zeros(1)), reference(x, torch.zeros(1)))


def test_loads_real_omegaconf_args(tmp_path: Path) -> None:
    omegaconf = pytest.importorskip("omegaconf")
    args = omegaconf.OmegaConf.create(TINY_ARGS)
    omegaconf.OmegaConf.set_struct(args, True)
    ckpt = load_babe2_checkpoint(_save(tmp_path / "real.pt", _tiny_state(), args))
    assert ckpt.args == TINY_ARGS
    assert build_network_from_checkpoint(ckpt).config == TINY


class _RunsShell:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


class _Evaluates:
    def __reduce__(self) -> tuple:
        return (eval, ("__import__('os').getcwd()",))


def test_refuses_forbidden_globals(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for name, payload in (("shell", _RunsShell(marker)), ("eval", _Evaluates())):
        path = _save(tmp_path / f"{name}.pt", _tiny_state(), payload)
        with pytest.raises(ModelLoadingError, match="cannot read"):
            load_babe2_checkpoint(path)
    assert not marker.exists()


def test_missing_file_says_what_to_put_where(tmp_path: Path) -> None:
    path = tmp_path / "models" / "MAESTRO_22kHz_8s-850kits.pt"
    with pytest.raises(ModelLoadingError) as info:
        load_babe2_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "MAESTRO_22kHz_8s-850kits.pt" in message
    assert "models directory" in message


def test_corrupt_and_foreign_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(os.urandom(4096))
    good = _save(tmp_path / "good.pt", _tiny_state(), TINY_ARGS)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:5000])
    for path in (garbage, truncated):
        with pytest.raises(ModelLoadingError, match="cannot read"):
            load_babe2_checkpoint(path)
    no_ema = tmp_path / "no_ema.pt"
    torch.save({"it": 3, "network": _tiny_state()}, no_ema)
    with pytest.raises(ModelLoadingError, match="no 'ema'"):
        load_babe2_checkpoint(no_ema)
    with pytest.raises(ModelLoadingError):
        load_babe2_checkpoint(tmp_path)  # a directory


def test_renamed_key_is_reported(tmp_path: Path) -> None:
    ema = _tiny_state()
    ema["embedding.MLP.0.weights"] = ema.pop("embedding.MLP.0.weight")
    ckpt = load_babe2_checkpoint(_save(tmp_path / "renamed.pt", ema, TINY_ARGS))
    with pytest.raises(ModelLoadingError) as info:
        build_network_from_checkpoint(ckpt)
    message = str(info.value)
    assert "missing keys (1): embedding.MLP.0.weight" in message
    assert "unexpected keys (1): embedding.MLP.0.weights" in message


def test_shape_mismatch_is_reported() -> None:
    ema = _tiny_state()
    ema["downs.0.1.weight"] = torch.zeros(8, 2, 3, 3)
    ckpt = Babe2Checkpoint(Path("x.pt"), ema, None, None, TINY_ARGS)
    with pytest.raises(ModelLoadingError, match=r"shape mismatches \(1\): downs.0.1.weight"):
        build_network_from_checkpoint(ckpt)


def test_preset_inferred_from_shapes_without_args() -> None:
    torch.manual_seed(0)
    ema = CQTUNet(babe2_piano()).state_dict()
    network = build_network_from_checkpoint(Babe2Checkpoint(Path("p.pt"), ema, None, None, {}))
    assert network.config == babe2_piano()
    assert torch.equal(network.embedding.RFF_freq, ema["embedding.RFF_freq"])
    with pytest.raises(ModelLoadingError, match="piano from voice"):
        build_network_from_checkpoint(Babe2Checkpoint(Path("t.pt"), _tiny_state(), None, None, {}))


def test_unsupported_variants_are_refused() -> None:
    for path, value in ((("network", "attention_layers"), [0, 0, 1, 0]),
                        (("network", "use_fencoding"), True)):  # fmt: skip
        args = {k: dict(v) if isinstance(v, dict) else v for k, v in TINY_ARGS.items()}
        args[path[0]][path[1]] = value
        with pytest.raises(ModelLoadingError, match="unsupported"):
            config_from_babe2_args(args)
    with pytest.raises(ModelLoadingError, match="do not describe"):
        config_from_babe2_args({"network": {}, "exp": {}})
