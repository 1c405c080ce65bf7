"""ltas_eq: equalise a recording towards a clean reference: BABE-2 LTAS-EQ, or the inverse of its chain."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import probe
from shellac.engine.dsp.chain_eq import ChainEqSettings, chain_equalize_file
from shellac.engine.dsp.eq_report import boost_and_cut_db, eq_curves
from shellac.engine.dsp.ltas import Ltas, ltas_equalize_file, ltas_of_file
from shellac.engine.dsp.ltas_reference import reference_ltas_eq_file
from shellac.engine.dsp.register import register_reference_of_file
from shellac.engine.errors import ParameterError
from shellac.engine.fixity import sha256_file, sha256_json
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams
from shellac.stages.reference import MODEL_PREFIX, REFERENCE_HELP, load_reference, reference_fingerprint


class LtasEqParams(StageParams):
    """LTAS-EQ settings; the defaults are BABE-2's."""

    reference: str = Field(description=REFERENCE_HELP)
    n_fft: int = Field(
        default=2048, ge=256, le=32768,
        description="FFT size in samples (BABE-2: 2048 for piano at 22.05 kHz, 4096 for voice at 44.1 kHz).",
    )
    max_boost_db: float = Field(
        default=20.0, ge=0, le=60, description="Largest boost in dB (the −20 dB floor of diff_dB)."
    )
    smooth: bool = Field(default=True, description="Third-octave smoothing of both LTAS curves.")
    method: Literal["ltas", "chain", "reference"] = Field(
        default="ltas",
        description="'ltas': BABE-2's LTAS-EQ (a free third-octave curve onto the reference; streamed, "
        "reference LTAS at unit-variance level); 'chain': undo only the recording chain, fitted against "
        "the reference (smooth, low-order, boosts limited by the noise floor; docs/models.md); "
        "'reference': the BABE-2 reference code's LTAS-EQ (centred frames, reference LTAS at its stored "
        "level, whole file in memory; docs/babe2-parity.md).",
    )
    edge_boost_db: float = Field(
        default=ChainEqSettings.edge_boost_db, ge=0, le=60,
        description="chain: largest boost below 80 Hz and in the top octave, dB.",
    )
    snr_margin_db: float = Field(
        default=ChainEqSettings.snr_margin_db, ge=0, le=40,
        description="chain: boosted hiss stays this far below the clean level the reference expects, dB.",
    )
    min_snr_db: float = Field(
        default=ChainEqSettings.min_snr_db, ge=0, le=40,
        description="chain: no boost where the input is less than this above its noise floor, dB.",
    )
    boost_per_snr_db: float | None = Field(
        default=ChainEqSettings.boost_per_snr_db, gt=0, le=20,
        description="chain: boost allowed per dB of the input's excess over min_snr_db (null: no limit).",
    )
    hiss_cut: bool = Field(
        default=ChainEqSettings.hiss_cut,
        description="chain: where the input holds only noise, cut hiss standing above the clean level the "
        "reference expects there (less snr_margin_db); false leaves those bands as they are.",
    )
    spread_floor_db: float | None = Field(
        default=ChainEqSettings.spread_floor_db, gt=0, le=40,
        description="chain: with a many-source reference, the chain fit weighs each band by "
        "1/(spread_floor_db² + spread²), spread being how much the reference's instruments disagree "
        "there (null: ignore the spread).",
    )
    shape_components: int | None = Field(
        default=ChainEqSettings.shape_components, ge=1, le=64,
        description="chain: with a reference that carries shape directions (how single recordings of the "
        "instrument depart from it), the chain fit may explain this recording's own brightness and "
        "register by up to this many of them instead of reading them as the chain (null: the reference "
        "as it is).",
    )
    shape_prior_weight: float = Field(
        default=ChainEqSettings.shape_prior_weight, gt=0, le=100,
        description="chain: weight λ of the Gaussian prior λ·Σa² on the shape coefficients (each direction "
        "one standard deviation); larger keeps the recording closer to the reference.",
    )
    resonance_spacing_octaves: float = Field(
        default=ChainEqSettings.resonance_spacing_octaves, ge=0, le=1,
        description="chain: the chain fit keeps every two horn resonances at least this far apart, octaves "
        "(0: copies of one resonance may stack, splitting its ridge prior and gain bounds; the voice "
        "profile's figures were measured so).",
    )
    strength: float = Field(
        default=ChainEqSettings.strength, ge=0, le=1,
        description="chain: share of the designed curve applied, its dB scaled (1: all; 0: the audio passes "
        "unchanged, the fitted chain and the curve it would apply are still reported in ltas.json).",
    )

    match_register: bool = Field(
        default=False,
        description="chain: match the reference to the line's register: instead of the bundle's one LTAS, "
        "the spectra of its clean material per semitone (the bundle's register.json), mixed by how long "
        "this recording sings each semitone (pitch tracked on the input); needs a 'model:<key>' reference. "
        "A recording with no sung pitch keeps the bundle's LTAS, and ltas.json says so (docs/models.md).",
    )

    @model_validator(mode="after")
    def _strength_is_chain_only(self) -> LtasEqParams:
        if self.strength != 1.0 and self.method != "chain":
            raise ValueError(f"strength applies to method 'chain' only, not {self.method!r}")
        if self.match_register and (self.method != "chain" or not self.reference.startswith(MODEL_PREFIX)):
            raise ValueError("match_register needs method 'chain' and a 'model:<key>' reference")
        return self


def fingerprint(params: LtasEqParams, ctx: StageContext) -> str:
    """Checksum of the reference data (and of the bundle's register table when it is used)."""
    reference = reference_fingerprint(params.reference, ctx)
    if not params.match_register:
        return reference
    table = ctx.models.register_path(params.reference[len(MODEL_PREFIX):])  # raises if there is none
    return sha256_json([reference, sha256_file(table)])


def run(inputs: Mapping[str, Path], params: LtasEqParams, ctx: StageContext) -> StageOutput:
    """Equalise ``audio``; write ``audio.wav`` and ``ltas.json`` (observed, reference, applied dB)."""
    sr = probe(inputs["audio"]).sample_rate
    reference = load_reference(params.reference, ctx, sample_rate=sr, n_fft=params.n_fft)
    audio_path = ctx.stage_dir / "audio.wav"
    chain: dict[str, object] | None = None
    metrics: dict[str, object] = {}
    if params.method == "reference":
        diff_db, observed = reference_ltas_eq_file(inputs["audio"], audio_path, reference, n_fft=params.n_fft,
                                                   max_boost_db=params.max_boost_db)
    elif params.method == "chain":
        if params.match_register:
            reference, metrics["register"] = _register_reference(inputs["audio"], params, ctx, reference)
        settings = ChainEqSettings(max_boost_db=params.max_boost_db, edge_boost_db=params.edge_boost_db,
                                   snr_margin_db=params.snr_margin_db, min_snr_db=params.min_snr_db,
                                   boost_per_snr_db=params.boost_per_snr_db, hiss_cut=params.hiss_cut,
                                   spread_floor_db=params.spread_floor_db,
                                   shape_components=params.shape_components,
                                   shape_prior_weight=params.shape_prior_weight,
                                   resonance_spacing_octaves=params.resonance_spacing_octaves,
                                   strength=params.strength)
        diff_db, eq, _ = chain_equalize_file(inputs["audio"], audio_path, reference, n_fft=params.n_fft,
                                             settings=settings)
        observed = ltas_of_file(inputs["audio"], params.n_fft)
        chain = eq.to_json()
        # Roll-offs the fit left on a bound of their range: the EQ's reading there is the least sure.
        metrics["chain_fit_bounds"] = list(eq.bounds)
    else:
        # Two streamed passes (LTAS, then EQ and std restore): memory follows the chunk, not the file.
        diff_db, observed = ltas_equalize_file(
            inputs["audio"], audio_path, reference, n_fft=params.n_fft, max_boost_db=params.max_boost_db,
            smooth=params.smooth,
        )
    curves = eq_curves(observed, diff_db, reference, smooth=params.smooth)
    if chain is not None:
        curves["method"] = "chain"
        curves["chain"] = chain
    curves_path = ctx.stage_dir / "ltas.json"
    atomic_write_json(curves_path, curves)
    boost, cut = boost_and_cut_db(diff_db)
    return StageOutput(artifacts={"audio": audio_path, "ltas_curves": curves_path},
                       metrics={"max_boost_db": boost, "max_cut_db": cut, **metrics})


def _register_reference(audio: Path, params: LtasEqParams, ctx: StageContext,
                        bundle_ltas: Ltas) -> tuple[Ltas, dict[str, object]]:
    """The bundle's register table mixed by ``audio``'s sung pitches, or its LTAS where none is sung."""
    table = ctx.models.register_table(params.reference[len(MODEL_PREFIX):])
    try:
        mixed, summary = register_reference_of_file(table, audio)
    except ParameterError as exc:
        return bundle_ltas, {"used": False, "reason": str(exc)}
    return mixed, {"used": True, **summary}


STAGE = Stage(
    name="ltas_eq",
    version="2",
    params_cls=LtasEqParams,
    consumes=("audio",),
    run=run,
    fingerprint=fingerprint,
    description="long-term-average-spectrum equalisation to a clean reference",
)
