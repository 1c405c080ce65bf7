"""Load published BABE-2 checkpoints without executing pickled code, and build their networks."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from shellac.engine.errors import ModelLoadingError
from shellac.engine.networks.cqt_unet import CQTUNet, CQTUNetConfig, babe2_piano, babe2_voice

PUBLISHED_CHECKPOINTS = (
    "MAESTRO_22kHz_8s-850kits.pt (piano)",
    "singing_voice_pretrain_44kHz_6s-325kits.pt (singing voice)",
    "VocalSet_{male2,male11,female1,female5}_44kHz_6s-8kits.pt (singer fine-tunes)",
)
_DOWNLOAD_PAGE = "http://research.spa.aalto.fi/publications/papers/dafx-babe2/checkpoints/"
_SHOWN_KEYS = 5


class _ContainerState:
    """Stand-in for an omegaconf container: keeps its pickled state, runs nothing."""

    # Class-level default: the unpickler creates instances without calling __init__.
    state: dict[str, Any] = {}  # noqa: RUF012

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {}


class _DictConfigState(_ContainerState):
    pass


class _ListConfigState(_ContainerState):
    pass


class _ValueNodeState(_ContainerState):
    pass


class _IgnoredState(_ContainerState):
    """Stand-in for omegaconf metadata (types, flags, caches): contents are dropped."""

    def __setstate__(self, state: Any) -> None:
        self.state = {}


@dataclass(frozen=True)
class _TypeTag:
    """Inert placeholder for a type named in the pickle (``typing.Any``, ``int``...)."""

    name: str


def _empty_dict(*_args: Any) -> dict:
    # Replaces collections.defaultdict (omegaconf's resolver cache): an empty plain dict.
    return {}


_NODE_CLASSES = (
    "AnyNode", "StringNode", "IntegerNode", "FloatNode", "BooleanNode", "BytesNode", "ValueNode",
)  # fmt: skip
_TYPE_NAMES = ("typing.Any", *(f"builtins.{t}" for t in ("dict", "list", "int", "float", "str")))
_TYPE_NAMES += ("builtins.bool", "builtins.bytes", "builtins.tuple", "builtins.object")

# Everything beyond torch's own tensor allowlist that the published format needs,
# each mapped to a stand-in so that no code from omegaconf (installed or not) runs.
_SAFE_GLOBALS: list[tuple[Any, str]] = [
    (_DictConfigState, "omegaconf.dictconfig.DictConfig"),
    (_ListConfigState, "omegaconf.listconfig.ListConfig"),
    (_IgnoredState, "omegaconf.base.Metadata"),
    (_IgnoredState, "omegaconf.base.ContainerMetadata"),
    (_empty_dict, "collections.defaultdict"),
    *((_ValueNodeState, f"omegaconf.nodes.{name}") for name in _NODE_CLASSES),
    *((_TypeTag(name), name) for name in _TYPE_NAMES),
]
# torch keeps its allowlist in a process-wide set; serialise loads that extend it.
_SAFE_GLOBALS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Babe2Checkpoint:
    """What inference needs from a published BABE-2 checkpoint.

    Attributes
    ----------
    path : Path
        File it was read from.
    ema : dict of str to Tensor
        EMA weights of the network (the ones inference uses), keys without prefix.
    iteration : int or None
        Training iteration ``it`` stored in the file.
    reference_ltas : Tensor or None
        Long-term average spectrum of the training set (power per rFFT bin), if stored.
    args : dict
        Plain-dict copy of the training configuration (Hydra/OmegaConf ``args``);
        interpolations are left as their ``${...}`` strings.
    """

    path: Path
    ema: dict[str, Tensor]
    iteration: int | None
    reference_ltas: Tensor | None
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def sigma_data(self) -> float | None:
        """EDM ``sigma_data`` the network was trained with (waveform units), if recorded."""
        diff_params = self.args.get("diff_params")
        value = diff_params.get("sigma_data") if isinstance(diff_params, dict) else None
        try:
            return float(value) if isinstance(value, int | float | str) else None
        except ValueError:
            return None


def _what_to_do(path: Path) -> str:
    return (
        f"Expected a published BABE-2 checkpoint at {path}: one of "
        f"{', '.join(PUBLISHED_CHECKPOINTS)}, downloaded from {_DOWNLOAD_PAGE} and placed "
        "in the models directory under that name."
    )


def _plain(value: Any) -> Any:
    """Turn unpickled omegaconf stand-ins into plain dicts, lists and scalars."""
    if isinstance(value, _DictConfigState | _ListConfigState):
        content = value.state.get("_content")
        if isinstance(content, dict):
            return {str(key): _plain(item) for key, item in content.items()}
        if isinstance(content, list):
            return [_plain(item) for item in content]
        return content  # None, "???" (missing) or an interpolation string
    if isinstance(value, _ValueNodeState):
        return _plain(value.state.get("_val"))
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, _TypeTag):
        return value.name
    return value


def load_babe2_checkpoint(path: str | Path, map_location: str = "cpu") -> Babe2Checkpoint:
    """Read a BABE-2 checkpoint with a restricted unpickler.

    Only tensor rebuild functions, ``collections.OrderedDict``, omegaconf's container,
    node and metadata classes (replaced by inert stand-ins) and a few type names are
    accepted; any other global (``os.system``, ``builtins.eval``...) is refused.

    Parameters
    ----------
    path : str or Path
        The ``.pt`` file (a torch pickle dict with ``it``, ``network``, ``optimizer``,
        ``ema``, ``args`` and ``LTAS``).
    map_location : str
        Device the tensors are loaded onto.

    Returns
    -------
    Babe2Checkpoint

    Raises
    ------
    ModelLoadingError
        If the file is missing, unreadable, corrupt, carries forbidden globals or
        lacks the ``ema`` weights.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadingError(f"BABE-2 checkpoint not found. {_what_to_do(path)}")
    try:
        with _SAFE_GLOBALS_LOCK, torch.serialization.safe_globals(_SAFE_GLOBALS):
            raw = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # any failure of an untrusted file is a loading error
        raise ModelLoadingError(
            f"cannot read {path} as a BABE-2 checkpoint ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else 'no detail'}). {_what_to_do(path)}"
        ) from err
    if not isinstance(raw, Mapping) or not isinstance(raw.get("ema"), Mapping):
        raise ModelLoadingError(f"{path} holds no 'ema' weights. {_what_to_do(path)}")
    ema = dict(raw["ema"])
    if not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in ema.items()):
        raise ModelLoadingError(f"{path}: 'ema' is not a name -> tensor mapping")
    ltas = raw.get("LTAS")
    iteration = raw.get("it")
    args = _plain(raw.get("args"))
    return Babe2Checkpoint(
        path=path,
        ema=ema,
        iteration=int(iteration) if isinstance(iteration, int | float) else None,
        reference_ltas=ltas if isinstance(ltas, Tensor) else None,
        args=args if isinstance(args, dict) else {},
    )


def config_from_babe2_args(args: Mapping[str, Any]) -> CQTUNetConfig:
    """Network configuration described by a checkpoint's training ``args``.

    Raises
    ------
    ModelLoadingError
        If the args lack the needed fields or describe a variant this engine does not
        implement (frequency encodings, attention, another bottleneck or window).
    """
    try:
        net, exp, cqt = args["network"], args["exp"], args["network"]["cqt"]
        unsupported = [
            name
            for name, bad in (
                ("frequency encodings", bool(net.get("use_fencoding", False))),
                ("attention layers", any(net.get("attention_layers", []))),
                ("bottleneck", net.get("bottleneck_type", "res_dil_convs") != "res_dil_convs"),
                ("bottleneck depth", int(net.get("num_bottleneck_layers", 1)) != 1),
                ("CQT window", cqt.get("window", "kaiser") != "kaiser"),
            )
            if bad
        ]
        config = CQTUNetConfig(
            sample_rate=int(exp["sample_rate"]),
            segment_length=int(exp["audio_len"]),
            num_octaves=int(cqt["num_octs"]),
            bins_per_octave=int(cqt["bins_per_oct"]),
            channels=tuple(int(c) for c in net["Ns"]),
            dilations=tuple(int(d) for d in net["num_dils"]),
            embedding_dim=int(net.get("emb_dim", 256)),
            use_norm=bool(net.get("use_norm", True)),
            window_beta=float(cqt.get("beta", 1.0)),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ModelLoadingError(f"checkpoint args do not describe a CQT U-Net: {err!r}") from err
    if unsupported:
        raise ModelLoadingError(f"unsupported CQTdiff+ variant: {', '.join(unsupported)}")
    return config


def _config_from_shapes(ema: Mapping[str, Tensor]) -> CQTUNetConfig:
    levels = len({key.split(".")[1] for key in ema if key.startswith("downs.")})
    first = ema.get("downs.0.1.weight")
    for config in (babe2_piano(), babe2_voice()):
        if levels == config.num_octaves and first is not None and (first.shape[0] == config.channels[0]):
            return config
    raise ModelLoadingError(
        f"cannot tell piano from voice network: {levels} levels, "
        f"first conv {None if first is None else tuple(first.shape)}, and no usable args"
    )


def build_network_from_checkpoint(checkpoint: Babe2Checkpoint) -> CQTUNet:
    """Build the CQT U-Net a checkpoint describes and load its EMA weights (strict).

    The configuration comes from the checkpoint's ``args`` when present, otherwise
    from the weight shapes (piano or voice preset). The network is returned in eval
    mode with gradients disabled on its parameters (inference only needs gradients
    with respect to the input).

    Raises
    ------
    ModelLoadingError
        If keys are missing or unexpected, or shapes differ (the first few are listed).
    """
    if "network" in checkpoint.args and "exp" in checkpoint.args:
        config = config_from_babe2_args(checkpoint.args)
    else:
        config = _config_from_shapes(checkpoint.ema)
    network = CQTUNet(config)
    expected = network.state_dict()
    missing = sorted(set(expected) - set(checkpoint.ema))
    unexpected = sorted(set(checkpoint.ema) - set(expected))
    mismatched = sorted(
        f"{key} {tuple(checkpoint.ema[key].shape)} vs {tuple(expected[key].shape)}"
        for key in set(expected) & set(checkpoint.ema)
        if checkpoint.ema[key].shape != expected[key].shape
    )
    if missing or unexpected or mismatched:
        problems = [
            f"{label} ({len(items)}): {', '.join(items[:_SHOWN_KEYS])}"
            + (", ..." if len(items) > _SHOWN_KEYS else "")
            for label, items in (
                ("missing keys", missing),
                ("unexpected keys", unexpected),
                ("shape mismatches", mismatched),
            )
            if items
        ]
        raise ModelLoadingError(
            f"{checkpoint.path} does not fit the CQT U-Net it describes; " + "; ".join(problems)
        )
    network.load_state_dict(checkpoint.ema, strict=True)
    return network.eval().requires_grad_(False)
