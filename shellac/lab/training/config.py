"""Training configuration: the frozen pydantic model every training run is described by."""

from __future__ import annotations

import inspect
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from shellac.engine.errors import ParameterError
from shellac.engine.networks.registry import config_to_json, get_network_family, network_families


class TrainConfig(BaseModel):
    """Everything that decides a training run's numbers (hashable, JSON round-trippable).

    Defaults follow BABE-2's piano recipe except the network (the fast 1-D U-Net)
    and the segment length.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    family: str = Field("unet1d", min_length=1, description="network family (see the registry)")
    network: str | dict[str, Any] = Field(
        "small", description="preset of the family's config class (e.g. 'tiny', 'small') or a config dict"
    )
    sample_rate: int = Field(22050, gt=0, description="model sample rate, Hz")
    segment_length: int = Field(65536, gt=0, description="training segment length, samples")
    normalization: Literal["none", "std"] = Field(
        "none", description='"none": raw amplitude (piano); "std": each segment scaled to std 1 (voice)'
    )
    sigma_data: float = Field(0.063, gt=0, description="EDM sigma_data, amplitude units (1.0 with 'std')")
    sigma_min: float = Field(1e-5, gt=0, description="smallest training noise level, amplitude units")
    sigma_max: float = Field(10.0, gt=0, description="largest training noise level, amplitude units")
    rho_train: float = Field(10.0, gt=0, description="warp exponent of the training sigma draw")
    lr: float = Field(2e-4, gt=0, description="Adam learning rate after warm-up")
    adam_betas: tuple[float, float] = Field((0.9, 0.999), description="Adam (beta1, beta2)")
    warmup_steps: int = Field(10_000, ge=0, description="linear learning-rate warm-up, optimiser steps")
    grad_clip: float | None = Field(1.0, gt=0, description="max global gradient norm; None disables")
    ema_rate: float = Field(0.9999, ge=0, lt=1, description="EMA decay per step once ramped up")
    ema_rampup_ratio: float | None = Field(
        0.05,
        gt=0,
        description="EMA half-life is at most this fraction of the steps done (EDM ramp); None: no ramp",
    )
    batch_size: int = Field(4, ge=1, description="segments per optimiser step")
    steps: int = Field(100_000, ge=1, description="total optimiser steps")
    checkpoint_every: int = Field(1000, ge=1, description="write a resumable checkpoint every N steps")
    checkpoint_optimizer: bool = Field(
        True,
        description="keep Adam's moments in the checkpoint (exact resume); False: a smaller checkpoint "
        "(network stored as a float16 delta from the EMA) whose resume restarts Adam with a short re-warm-up",
    )
    validate_every: int = Field(250, ge=1, description="steps between validation-loss evaluations")
    validation_segments: int = Field(16, ge=1, description="fixed validation segments scored")
    validation_sigmas: int = Field(6, ge=1, description="fixed σ levels (mid-quantiles of the training draw)")
    seed: int = Field(0, ge=0, description="seed of data order, noise levels and noise")
    gain_db: float = Field(0.0, ge=0, description="random gain of each segment, uniform in ±gain_db dB")
    silence_db: float = Field(-50.0, description="segments quieter than this RMS (dBFS) are redrawn")
    spectral_weighting_db: float = Field(
        0.0, ge=0, le=60,
        description="weight the loss's error spectrum by the inverse of the data's mean spectrum, over at "
        "most this many dB (0: the plain EDM loss); see shellac.lab.training.spectral_weight",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.sigma_min >= self.sigma_max:
            raise ValueError(f"sigma_min {self.sigma_min} must be below sigma_max {self.sigma_max}")
        if not all(0 <= b < 1 for b in self.adam_betas):
            raise ValueError(f"adam_betas must lie in [0, 1), got {self.adam_betas}")
        return self

    def network_config(self) -> Any:
        """The family's network config object (preset resolved, dict validated).

        Raises
        ------
        ParameterError
            Unknown family or preset, or a config dict the family rejects.
        """
        return resolve_network_config(self.family, self.network)

    def build_network(self) -> nn.Module:
        """A freshly initialised raw network F_theta (uses torch's global RNG for the init)."""
        return get_network_family(self.family).build_fn(self.network_config())

    def network_json(self) -> dict[str, Any]:
        """JSON form of the resolved network config (as stored in a bundle's config.json)."""
        return config_to_json(self.network_config())


def resolve_network_config(family_name: str, network: str | dict[str, Any]) -> Any:
    """Turn a preset name (a zero-argument classmethod of the config class) or a dict into a config.

    Raises
    ------
    ParameterError
        Unknown family or preset, or an invalid config dict.
    """
    try:
        family = get_network_family(family_name)
    except KeyError:
        raise ParameterError(
            f"unknown network family {family_name!r}; known: {', '.join(network_families())}"
        ) from None
    if isinstance(network, str):
        presets = network_presets(family.config_cls)
        if network not in presets:
            raise ParameterError(
                f"family {family_name!r} has no preset {network!r}; presets: {', '.join(presets) or 'none'}"
            )
        return getattr(family.config_cls, network)()
    try:
        return family.parse_config(network)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"invalid {family_name!r} network config: {exc}") from exc


def network_presets(config_cls: type) -> tuple[str, ...]:
    """Names of the zero-argument classmethods of ``config_cls`` that return an instance of it."""
    names = []
    for name, member in inspect.getmembers(config_cls):
        if name.startswith("_") or not inspect.ismethod(member) or member.__self__ is not config_cls:
            continue
        try:
            params = inspect.signature(member).parameters
        except (TypeError, ValueError):
            continue
        if all(p.default is not inspect.Parameter.empty for p in params.values()):
            names.append(name)
    # pydantic adds classmethods of its own (model_construct, ...); keep only the family's.
    return tuple(n for n in names if not n.startswith("model_") and n not in _PYDANTIC_NAMES)


_PYDANTIC_NAMES = frozenset({"construct", "schema", "schema_json", "update_forward_refs", "validate",
                             "parse_obj", "parse_raw", "parse_file", "from_orm"})
