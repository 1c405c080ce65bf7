"""Responses of the benchmark's "reference" row: the reference-design filter saved with each block."""

from __future__ import annotations

from typing import Any

import numpy as np

from shellac.engine.operators.blind_filter import BlindFilter


def reference_response(sample_rate: int, values: dict[str, Any], grid_hz: np.ndarray) -> np.ndarray:
    """Response (dB) on ``grid_hz`` of a reference filter saved by ``to_json``."""
    blind = BlindFilter(sample_rate, design="reference")
    blind.set_values({k: v for k, v in values.items() if k not in ("kind", "sample_rate")})
    return blind.response_db(grid_hz)

