"""A prior's measured spectral bias: validation, the per-bin correction it gives, recording it in a card."""

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from shellac.engine.models.bundle import bundle_checksum, load_bundle, read_card
from shellac.engine.models.spectral_bias import SpectralBias, record_spectral_bias
from tests.fixtures.bundles import make_tiny_bundle

EDGES = [31.25, 62.5, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0]


def _bias(**changes: object) -> SpectralBias:
    values = {"edges_hz": EDGES, "excess_db": {51: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 6.0, 12.0]},
              "sigma_start": 0.5, "sigma_min": 4e-5, "rho": 13.0, "segments": 24, "measured_on": "test"}
    return SpectralBias.model_validate({**values, **changes})


def test_correction_undoes_the_excess_at_band_centres_and_interpolates_between() -> None:
    bias = _bias()
    centres = np.sqrt(np.array(EDGES[:-1]) * np.array(EDGES[1:]))
    factor = bias.amplitude_correction(51, centres)
    assert factor is not None
    np.testing.assert_allclose(20 * np.log10(factor), [0, 0, 0, 0, 0, 0, -6.0, -12.0], atol=1e-9)
    # Half an octave above the 2–4 kHz centre lies halfway (in log f) to the next centre; beyond the
    # last centre the correction is held.
    between = bias.amplitude_correction(51, np.array([centres[6] * 2**0.5, 11025.0]))
    assert between is not None
    np.testing.assert_allclose(20 * np.log10(between), [-9.0, -12.0], atol=1e-9)


def test_correction_is_none_at_an_unmeasured_step_count() -> None:
    assert _bias().amplitude_correction(20, np.array([1000.0])) is None


def test_malformed_bias_is_refused() -> None:
    with pytest.raises(ValidationError, match="7 values for 8 bands"):
        _bias(excess_db={51: [0.0] * 7})
    with pytest.raises(ValidationError, match="increasing"):
        _bias(edges_hz=list(reversed(EDGES)))


def test_recording_keeps_the_bundle_checksum_and_round_trips(tmp_path: Path) -> None:
    bundle_dir = make_tiny_bundle(tmp_path, "tiny")
    before = bundle_checksum(bundle_dir)
    record_spectral_bias(bundle_dir, _bias())
    assert bundle_checksum(bundle_dir) == before  # the card is not part of what restorations hash
    card = read_card(bundle_dir)
    assert card.spectral_bias == _bias().model_copy(update={"created": card.spectral_bias.created})
    assert load_bundle(bundle_dir).card.spectral_bias is not None
