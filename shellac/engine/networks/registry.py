"""Registry of network families: a family name maps to its config class and build function."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from torch import nn

from shellac.engine.errors import ParameterError
from shellac.engine.networks.cqt_unet import CQTUNet, CQTUNetConfig
from shellac.engine.networks.unet1d import UNet1DConfig, build_unet1d


@dataclass(frozen=True)
class NetworkFamily:
    """How to rebuild a network from the ``network`` section of a bundle's config.json."""

    name: str
    config_cls: type
    build_fn: Callable[[Any], nn.Module]

    def parse_config(self, raw: Mapping[str, Any]) -> Any:
        """Build the family's config object from its JSON form.

        Raises whatever the config class raises on bad input (pydantic's
        ``ValidationError``, or ``TypeError``/``ValueError`` from a dataclass).
        """
        if issubclass(self.config_cls, BaseModel):
            return self.config_cls.model_validate(raw)
        # JSON has no tuples; frozen dataclasses declare their sequences as tuples.
        return self.config_cls(**{k: _as_tuples(v) for k, v in raw.items()})


def config_to_json(config: Any) -> dict[str, Any]:
    """JSON form (lists, not tuples) of a network config: pydantic model, dataclass or dict.

    Raises
    ------
    TypeError
        If ``config`` is none of these, or holds values JSON cannot represent.
    """
    if isinstance(config, BaseModel):
        data: Any = config.model_dump(mode="json")
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        data = dataclasses.asdict(config)
    elif isinstance(config, Mapping):
        data = dict(config)
    else:
        raise TypeError(f"a network config must be a pydantic model, dataclass or dict, not {config!r}")
    try:
        return json.loads(json.dumps(data, allow_nan=False))
    except ValueError as exc:
        raise TypeError(f"network config is not JSON-serialisable: {exc}") from exc


def _as_tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_as_tuples(v) for v in value)
    return value


_FAMILIES: dict[str, NetworkFamily] = {}


def register_network_family(
    name: str,
    config_cls: type,
    build_fn: Callable[[Any], nn.Module],
    *,
    replace: bool = False,
) -> NetworkFamily:
    """Make a network family loadable from model bundles.

    Parameters
    ----------
    name:
        Family name as written in config.json (e.g. ``"unet1d"``, ``"cqt_unet"``).
    config_cls:
        The family's network config: a pydantic model or a (frozen) dataclass whose
        fields are JSON values (tuples are stored as lists).
    build_fn:
        ``build_fn(config) -> nn.Module`` returning a freshly initialised network.
    replace:
        Allow overriding an existing, different registration of ``name``.

    Raises
    ------
    ParameterError
        If ``config_cls`` is neither a pydantic model nor a dataclass, or ``name`` is
        already registered with another config class or build function and ``replace``
        is false.
    """
    if not (issubclass(config_cls, BaseModel) or dataclasses.is_dataclass(config_cls)):
        raise ParameterError(
            f"config class of family {name!r} must be a pydantic model or a dataclass, not {config_cls!r}"
        )
    family = NetworkFamily(name=name, config_cls=config_cls, build_fn=build_fn)
    existing = _FAMILIES.get(name)
    # Registering the same thing twice (a module imported twice) is harmless.
    if existing is not None and existing != family and not replace:
        raise ParameterError(
            f"network family {name!r} is already registered "
            f"({existing.config_cls.__name__}); pass replace=True to override it"
        )
    _FAMILIES[name] = family
    return family


def get_network_family(name: str) -> NetworkFamily:
    """Return the registered family ``name``; raise ``KeyError`` if unknown."""
    return _FAMILIES[name]


def network_families() -> tuple[str, ...]:
    """Names of the registered families, sorted."""
    return tuple(sorted(_FAMILIES))


register_network_family("unet1d", UNet1DConfig, build_unet1d)
register_network_family("cqt_unet", CQTUNetConfig, CQTUNet)
