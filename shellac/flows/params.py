"""Validated parameter types of the flows (Prefect turns them into the deployment forms' schemas)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Device = Annotated[str, Field(pattern=r"^(cpu|cuda(:\d+)?|mps)$",
                              description="Torch device of the GPU stages: cpu, cuda or cuda:N.")]
Seconds = Annotated[float, Field(gt=0, description="A duration, seconds.")]
Steps = Annotated[int, Field(ge=1, description="Optimiser steps.")]
GainDb = Annotated[float, Field(ge=0, description="Random gain augmentation, ±dB.")]
