"""Measured guidance stored in a bundle's card through save_bundle: weights and checksum unchanged."""

from pathlib import Path

from shellac.engine.models.bundle import bundle_checksum, load_bundle, read_card
from shellac.engine.models.guidance import MeasuredGuidance, record_guidance
from shellac.stages.base import MasterInfo, StageContext
from shellac.stages.generative_eq import GenerativeEqParams, fingerprint, sampler_values
from shellac.stages.models import ModelStore

from ...fixtures.bundles import make_tiny_bundle


def _guidance() -> MeasuredGuidance:
    return MeasuredGuidance(n_steps=8, sigma_y=0.0, xi=2.0, measured_on="validation test",
                            objective="lsd + ltas", scores={"chosen": "N8_sy0_xi2"})


def test_record_guidance_keeps_weights_and_checksum(tmp_path: Path) -> None:
    bundle = make_tiny_bundle(tmp_path, "tiny")
    before_card, before_sum = read_card(bundle), bundle_checksum(bundle)
    record_guidance(bundle, _guidance())
    card = read_card(bundle)
    assert card.guidance == _guidance().model_copy(update={"created": card.guidance.created})  # type: ignore[union-attr]
    assert card.weights_sha256 == before_card.weights_sha256
    assert bundle_checksum(bundle) == before_sum  # the card is not part of the outputs' checksum
    assert load_bundle(bundle).card.guidance is not None


def test_stage_uses_measured_guidance_only_when_asked(tmp_path: Path) -> None:
    bundle = make_tiny_bundle(tmp_path, "tiny")
    ctx = StageContext(recording_id="r", metadata={}, master=MasterInfo(tmp_path / "m.wav"),
                       recording_dir=tmp_path, stage_dir=tmp_path, base_dir=tmp_path,
                       models=ModelStore(tmp_path), code_hash="test")
    params = GenerativeEqParams(model="tiny")
    bundled = params.model_copy(update={"guidance": "bundle"})
    assert fingerprint(bundled, ctx) == fingerprint(params, ctx)  # nothing measured yet
    record_guidance(bundle, _guidance())
    measured = read_card(bundle).guidance
    paper = {"n_steps": 51, "sigma_start": 0.5, "rho": 13.0, "sigma_y": 0.25, "xi": 1.0}
    assert sampler_values(params, measured) == paper
    assert sampler_values(bundled, measured) == {**paper, "n_steps": 8, "sigma_y": 0.0, "xi": 2.0}
    # The cache key follows the measured values when they are used, not otherwise.
    assert fingerprint(bundled, ctx) != fingerprint(params, ctx) == bundle_checksum(bundle)
