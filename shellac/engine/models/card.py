"""What a model bundle says about itself: the schemas of its config.json and card.json."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shellac.engine.models.guidance import MeasuredGuidance
from shellac.engine.models.spectral_bias import SpectralBias
from shellac.engine.models.standing import HeldoutStanding
from shellac.engine.networks.registry import config_to_json

# Version of the bundle layout this code writes; loaders reject every other one.
BUNDLE_FORMAT_VERSION = 1


class BundleConfig(BaseModel):
    """Everything inference needs to rebuild and drive a network (config.json)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = Field(BUNDLE_FORMAT_VERSION, description="bundle layout version")
    family: str = Field(min_length=1, description='network family, e.g. "unet1d" or "cqt_unet"')
    network: dict[str, Any] = Field(description="the family's network config, as JSON")
    sample_rate: int = Field(gt=0, description="sample rate the model was trained at, Hz")
    segment_length: int = Field(gt=0, description="training segment length, samples")
    sigma_data: float = Field(gt=0, description="EDM sigma_data, amplitude units")
    sigma_min: float = Field(gt=0, description="smallest training noise level, amplitude units")
    sigma_max: float = Field(gt=0, description="largest training noise level, amplitude units")
    normalization: Literal["none", "std"] = Field(
        "none",
        description='"none": raw amplitude (BABE-2 piano); "std": segments scaled to std 1 (BABE-2 voice)',
    )

    @field_validator("network", mode="before")
    @classmethod
    def _dump_network_config(cls, value: Any) -> Any:
        # Accept the family's config object (pydantic or dataclass) and store its JSON
        # form, so comparisons and checksums never see tuples where JSON has lists.
        try:
            return config_to_json(value)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _check_sigma_range(self) -> Self:
        if self.sigma_min >= self.sigma_max:
            raise ValueError(f"sigma_min {self.sigma_min} must be below sigma_max {self.sigma_max}")
        return self

    @property
    def segment_seconds(self) -> float:
        """Training segment length in seconds."""
        return self.segment_length / self.sample_rate


class ModelCard(BaseModel):
    """Human-facing description and provenance of a trained model (card.json)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="short model name, e.g. 'piano-small'")
    description: str = Field("", description="what the model is for")
    data: str = Field(description="training data: corpus, selection, licence of the data")
    sample_rate: int = Field(gt=0, description="sample rate, Hz")
    segment_length: int = Field(gt=0, description="training segment length, samples")
    training_steps: int = Field(ge=0, description="optimiser steps")
    wall_time_s: float = Field(ge=0, description="training wall-clock time, seconds")
    final_loss: float | None = Field(None, description="last (EMA-smoothed) training loss")
    command: str = Field("", description="command line that produced the model")
    base_model: str | None = Field(None, description="name and checksum of the model fine-tuned from, if any")
    licence: str = Field(description="licence of the weights, e.g. 'MIT', 'CC-BY-4.0'")
    validation: dict[str, Any] | None = Field(
        None,
        description="validation loss on held-out audio: data, σ levels, loss (monitoring only, never tuning)",
    )
    created: datetime = Field(default_factory=lambda: datetime.now(UTC), description="creation time (UTC)")
    reference_ltas: str | None = Field(
        None, description="where the reference LTAS (ltas.json) comes from, when not from the training data"
    )
    weights_sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="sha256 (hex) of model.safetensors; filled in by save_bundle",
    )
    guidance: MeasuredGuidance | None = Field(
        None, description="sampler settings measured for this bundle (shellac bench-guidance); used by "
        "generative_eq when its guidance parameter is 'bundle'",
    )
    spectral_bias: SpectralBias | None = Field(
        None, description="per-octave excess of the prior's warm restarts over clean (shellac "
        "calibrate-prior); "
        "the generative stage's posterior consistency step divides the prior's sample by it",
    )
    heldout: HeldoutStanding | None = Field(
        None, description="how this bundle's access copies compared with LTAS-EQ and the untouched input on "
        "the held-out benchmark (shellac record-standing); generative_eq records it with every restoration",
    )
