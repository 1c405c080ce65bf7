"""generative_eq: BABE-2 blind generative equalisation, block by block, with resumable block checkpoints."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field
from tqdm import tqdm

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import probe
from shellac.engine.device import resolve_device
from shellac.engine.dsp.band_merge import to_master_rate
from shellac.engine.dsp.ltas import Ltas, ltas_of_file
from shellac.engine.dsp.resample import resample_file
from shellac.engine.errors import ParameterError
from shellac.engine.fixity import sha256_json
from shellac.engine.models.bundle import read_card
from shellac.engine.models.guidance import MeasuredGuidance
from shellac.engine.models.loaded import LoadedBundle
from shellac.engine.models.standing import chain_settings, standing_record
from shellac.engine.restoration.babe2 import CONSISTENCY_SETTINGS, Babe2Settings, restore
from shellac.engine.restoration.consistency import EqCurves
from shellac.engine.restoration.reports import GENERATED_BAND_DB, generated_bands
from shellac.engine.restoration.settings import BABE2_SAMPLER, SamplerSettings
from shellac.engine.stream import array_to_wav, copy_to_layout
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams
from shellac.stages.param_defaults import as_measured
from shellac.stages.quality_gate import (
    GateInputs,
    QualityGateParams,
    mono_at_rate,
    record_gate,
    run_gate,
    untouched_input,
)
from shellac.stages.reference import REFERENCE_HELP, load_reference, reference_fingerprint

# The engine's settings are the one vocabulary: the parameters' defaults come from them.
_B = Babe2Settings(sampler=BABE2_SAMPLER)
_S = _B.sampler


class GenerativeEqParams(StageParams):
    """BABE-2 restoration settings; profiles set the paper's Table 3 values per content type."""

    model: str = Field(description="Model bundle key in the models directory (e.g. 'piano').")
    reference: str | None = Field(
        default=None,
        description="The instrument's clean reference LTAS for the filter's chain start, the 'anchored-ltas' "
        "form and the quality gate, given as ltas_eq.reference is; None: the model bundle's. Give the "
        "recording's ltas_eq step the same one. " + REFERENCE_HELP,
    )
    n_steps: int = Field(default=_S.n_steps, ge=2, le=400,
                         description="Sampler steps N (2N−1 network calls).")
    sigma_start: float = Field(default=_S.sigma_start, gt=0, description="Warm-start noise level σ_start.")
    sigma_min: float = Field(default=_S.sigma_min, gt=0, description="Last non-zero noise level σ_min.")
    rho: float = Field(default=_S.rho, gt=0, description="Schedule exponent ρ.")
    s_churn: float = Field(default=_S.s_churn, ge=0, description="Churn S_churn.")
    xi: float = Field(default=_S.xi, ge=0, description="Guidance step ξ.")
    sigma_y: float = Field(default=_S.sigma_y, ge=0, description="Noise regularisation σ_y on y (0 = off).")
    filter: str = Field(default="babe2", pattern="^(babe2|lowpass)$",
                        description="Blind filter: BABE-2's piecewise dB/oct, or BABE v1-style low-pass.")
    filter_init: str = Field(
        default="babe2", pattern="^(babe2|chain)$",
        description="Start of the BABE-2 filter: the paper's 2 kHz low-pass ('babe2'), or the recording "
        "chain fitted once over the whole input against the model's reference LTAS ('chain').",
    )
    filter_iters: int = Field(default=_B.filter_iters, ge=1, le=1000,
                              description="Adam iterations per filter fit.")
    filter_lr: float = Field(default=_B.filter_lr, gt=0, description="Adam learning rate of the filter fit.")
    ltas_eq_init: bool = Field(default=_B.ltas_eq_init,
                               description="Start the sampler from the LTAS-equalised input.")
    ltas_eq_objective: bool = Field(default=_B.ltas_eq_objective,
                                    description="Guide towards the LTAS-equalised input.")
    max_boost_db: float = Field(default=_B.max_boost_db, ge=0, le=60, description="LTAS-EQ boost limit, dB.")
    overlap_fraction: float = Field(default=_B.overlap_fraction, ge=0, lt=0.5,
                                    description="Block overlap, fraction.")
    carry_filter: bool = Field(default=_B.carry_filter,
                               description="Carry the filter and its Adam state across blocks.")
    seed: int = Field(default=_B.seed, ge=0, description="Seed of all sampler noise (per-block streams).")
    mask_aware_fit: bool = Field(default=_B.mask_aware_fit,
                                 description="Keep the samples a block knows out of the filter's fit.")
    hand_over: Literal["shellac", "reference"] = Field(
        default=_B.hand_over,
        description="Block hand-over: 'shellac' (σ_data gain over valid samples, previous output as the "
        "overlap's warm start, padding known) or 'reference' (the reference's; in memory, no checkpoints).",
    )
    preset: Literal["shellac", "reference"] = Field(
        default="shellac",
        description="'shellac': this engine's restoration; 'reference': the BABE-2 reference code's, "
        "item by item (docs/babe2-parity.md).",
    )
    consistency: Literal["none", "posterior", "anchored", "anchored-ltas"] = Field(
        default=_B.consistency,
        description="'none': the sampler's output (the paper); 'posterior': each STFT bin of it corrected "
        "into a posterior sample given the equalised input, its noise floor and the residual response, "
        "keeping the input where it is clean and the generated content where it holds only noise; "
        "'anchored': the same with the input kept as it is wherever it holds signal, and the generated "
        "band beyond the input's signal range levelled to the input's level at that range's edges; "
        "'anchored-ltas': as 'anchored', the generated band beyond those edges falling off as the model's "
        "reference LTAS does (never above the prior's own balance). The "
        "model card's spectral bias (shellac calibrate-prior), if measured at this N, is divided out first.",
    )
    consistency_floor: bool = Field(
        default=_B.consistency_floor,
        description="With a consistency form: in every STFT bin where the equalised input holds only noise, "
        "bring the generated content down (never up) to the input's own level there, the level the EQ "
        "stage left; the content stays the prior's.",
    )
    consistency_floor_db: float = Field(
        default=_B.consistency_floor_db, ge=0.0, le=20.0,
        description="With consistency_floor: the floor stands this many dB above the input's own level (the "
        "chain EQ leaves noise-only bands its snr_margin_db, 10 dB, under the clean level it expects there); "
        "0: at the input's level.",
    )
    consistency_evidence: bool = Field(
        default=_B.consistency_evidence,
        description="With a consistency form: take the prior's power in each STFT cell as never below what "
        "the equalised input shows there above its noise, so observed music is kept even where the prior's "
        "sample is quiet (piano profiles); off, a quiet sample lets the prior's balance win there (voice).",
    )
    consistency_balance: float = Field(
        default=_B.consistency_balance, ge=0.0, le=1.0,
        description="With a consistency form: then move the output's long-term balance this share of the way "
        "(in dB) to the equalised input's, in the STFT bins where the input holds signal, with one gain per "
        "bin for the whole recording (at most ±6 dB), so the output keeps its detail and takes the EQ "
        "stage's balance; 0: no such pass.",
    )
    consistency_balance_smooth: bool = Field(
        default=_B.consistency_balance_smooth,
        description="With consistency_balance: its gain as one smooth curve over frequency (each bin's dB "
        "gain weighted by the share of the input's power within a third octave that stands above the "
        "noise floor), so a lone bin beyond the "
        "cut-off whose hiss clears the signal test does not become a steady line; false: bin by bin.",
    )
    consistency_balance_in_range: bool = Field(
        default=_B.consistency_balance_in_range,
        description="With consistency_balance: leave every bin outside the input's signal range (the bins "
        "where at least half of the surrounding third octave holds signal, the anchored form's edges) at "
        "gain 1, so a stray bin of hiss beyond the cut-off does not become a steady line; false: every bin.",
    )
    consistency_floor_low: bool = Field(
        default=_B.consistency_floor_low,
        description="With a consistency form: limit the generated content, in the STFT bins below the "
        "input's pass band (the quality gate's low cut-off, read on the equalised input) where the input "
        "holds only noise, to the input's level there, so the prior's low tones where the recording holds "
        "none are not kept; the generated band above the high cut-off is untouched.",
    )
    consistency_withheld: float = Field(
        default=_B.consistency_withheld, ge=0.0, le=1.0,
        description="With 'anchored' or 'anchored-ltas': give back this share (in dB) of the boost the "
        "preceding 'chain' ltas_eq step withheld (its noise limits), cell by cell where the music stands "
        "over the noise; noise-dominated cells keep the prior's content, so hiss is not lifted; 0: none.",
    )
    consistency_withheld_max_hz: float = Field(
        default=_B.consistency_withheld_max_hz, gt=0.0, le=48000.0,
        description="With consistency_withheld: give the withheld boost back up to this frequency only, Hz.",
    )
    consistency_noise_slope_db: float | None = Field(
        default=_B.consistency_noise_slope_db, gt=0.0, le=60.0,
        description="With a consistency form: the equalised input's noise floor, which decides where the "
        "input holds signal and how much of it each STFT cell keeps, is the highest floor under the "
        "minimum-statistics one that changes by at most this many dB per octave, so a band the music "
        "fills at all times does not count its quietest music as noise (the piano profiles: 6); "
        "null: the unlimited estimate.",
    )
    guidance: Literal["params", "bundle"] = Field(
        default="params", description="'params': the sampler values above; 'bundle': N, σ_y, ξ (and ρ, "
        "σ_start if set) measured for the model by `shellac bench-guidance` and stored in its card, "
        "falling back to the values above when the card has none.")
    quality_gate: bool = Field(
        default=True, description="Check the output against the LTAS-EQ result and the untouched input; "
        "if it is implausibly worse, the LTAS-EQ result becomes the access copy (reason recorded).")
    gate: QualityGateParams = Field(default_factory=QualityGateParams,
                                    description="Limits of the quality gate's checks.")


def fingerprint(params: GenerativeEqParams, ctx: StageContext) -> str:
    """Checksum of the model bundle (weights, config, reference LTAS) and of the card's measured records
    it uses: the guidance (``guidance = "bundle"``), the spectral bias (any ``consistency`` but none)."""
    checksum = ctx.models.checksum(params.model)
    card = read_card(ctx.models.bundle_dir(params.model))
    used: dict[str, object] = {}
    if params.guidance == "bundle" and card.guidance is not None:
        used["guidance"] = card.guidance.sampler_values()
    if params.consistency != "none" and card.spectral_bias is not None:
        used["spectral_bias"] = card.spectral_bias.model_dump(mode="json", include={"edges_hz", "excess_db"})
    if params.reference is not None:
        used["reference"] = reference_fingerprint(params.reference, ctx)
    return sha256_json({"model": checksum, **used}) if used else checksum


def instrument_reference(params: GenerativeEqParams, ctx: StageContext, bundle: LoadedBundle) -> Ltas | None:
    """The reference LTAS ``params.reference`` names, at the bundle's rate and STFT; None if it names none."""
    if params.reference is None:
        return None
    return load_reference(params.reference, ctx, sample_rate=bundle.config.sample_rate,
                          n_fft=bundle.reference_ltas.n_fft)


def sampler_values(params: GenerativeEqParams, measured: MeasuredGuidance | None) -> dict[str, float | int]:
    """N, σ_start, ρ, σ_y and ξ the sampler uses: the params', or the bundle's measured ones."""
    values: dict[str, float | int] = {"n_steps": params.n_steps, "sigma_start": params.sigma_start,
                                      "rho": params.rho, "sigma_y": params.sigma_y, "xi": params.xi}
    if params.guidance == "bundle" and measured is not None:
        values.update(measured.sampler_values())
    return values


def babe2_settings(params: GenerativeEqParams, sampler: dict[str, float | int]) -> Babe2Settings:
    """The engine's BABE-2 settings from the stage's parameters and the chosen sampler values."""
    return Babe2Settings(
        sampler=SamplerSettings(n_steps=int(sampler["n_steps"]), sigma_start=float(sampler["sigma_start"]),
                                sigma_min=params.sigma_min, rho=float(sampler["rho"]),
                                xi=float(sampler["xi"]), sigma_y=float(sampler["sigma_y"]),
                                s_churn=params.s_churn),
        filter="lowpass" if params.filter == "lowpass" else "babe2",
        filter_init="chain" if params.filter_init == "chain" else "babe2",
        filter_iters=params.filter_iters, filter_lr=params.filter_lr, ltas_eq_init=params.ltas_eq_init,
        ltas_eq_objective=params.ltas_eq_objective, max_boost_db=params.max_boost_db,
        overlap_fraction=params.overlap_fraction, carry_filter=params.carry_filter, seed=params.seed,
        preset=params.preset, mask_aware_fit=params.mask_aware_fit, hand_over=params.hand_over,
        consistency=params.consistency,
        consistency_floor=params.consistency_floor,
        consistency_floor_db=params.consistency_floor_db,
        consistency_evidence=params.consistency_evidence,
        consistency_balance=params.consistency_balance,
        consistency_balance_smooth=params.consistency_balance_smooth,
        consistency_balance_in_range=params.consistency_balance_in_range,
        consistency_floor_low=params.consistency_floor_low,
        consistency_withheld=params.consistency_withheld,
        consistency_withheld_max_hz=params.consistency_withheld_max_hz,
        consistency_noise_slope_db=params.consistency_noise_slope_db,
    )


def eq_stage_curves(ctx: StageContext) -> EqCurves:
    """The curves of the chain's last ``ltas_eq`` step before this one (its ``ltas.json``)."""
    records = [r for r in ctx.history if r.get("stage") == "ltas_eq"]
    artifact = records[-1].get("outputs", {}).get("ltas_curves") if records else None
    if artifact is None:
        raise ParameterError("consistency_withheld needs an ltas_eq step before generative_eq in the profile")
    curves = json.loads((ctx.recording_dir / str(artifact["path"])).read_text())
    chain = curves.get("chain")
    if chain is None:
        raise ParameterError("consistency_withheld needs the ltas_eq step's method 'chain' (only it "
                             f"withholds boost), not {curves.get('method', 'ltas')!r}")
    return EqCurves(centres_hz=np.asarray(chain["band_centres_hz"], dtype=np.float64),
                    inverse_db=np.asarray(chain["inverse_db"], dtype=np.float64),
                    gain_db=np.asarray(chain["gain_db"], dtype=np.float64))


def run(inputs: Mapping[str, Path], params: GenerativeEqParams, ctx: StageContext) -> StageOutput:
    """Restore ``audio``; write ``audio.wav``, ``filters.json`` and ``ltas.json`` (and ``blocks/``).

    Long recordings never sit whole in memory: the mono signal at the model's rate,
    its LTAS-equalised version and the output are memory-mapped files in
    ``work/``, and only blocks are held while sampling.
    """
    if params.preset == "reference":
        from shellac.stages.generative_eq_reference import run_reference

        return run_reference(inputs, params, ctx)
    started = time.monotonic()
    device = resolve_device(ctx.device)
    info = probe(inputs["audio"])
    sr = info.sample_rate
    bundle = ctx.models.load(params.model, device=str(device))
    model_sr = bundle.config.sample_rate
    instrument = instrument_reference(params, ctx, bundle)
    ref = bundle.reference(instrument)
    work = ctx.stage_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    # One mono mix at the master's rate: the model gets it resampled, and the access copy keeps its
    # band above the model's Nyquist frequency (to_master_rate).
    source = mono_at_rate(inputs["audio"], work / "source.wav", sr)
    mono = work / "mono.wav"
    resample_file(source, mono, model_sr)
    chosen = sampler_values(params, bundle.card.guidance)
    bar = tqdm(desc=f"{ctx.recording_id} generative EQ", unit="step", leave=False, dynamic_ncols=True)

    def progress(block: int, n_blocks: int, step: int, n_steps: int) -> None:
        bar.total = n_blocks * n_steps
        bar.n = block * n_steps + step
        bar.set_postfix_str(f"block {block + 1}/{n_blocks}")
        bar.refresh()
        if ctx.progress is not None:
            ctx.progress(bar.n / bar.total, f"block {block + 1}/{n_blocks}")

    # The gate and the consistency step only use finished blocks: their settings do not invalidate them.
    # The reference is keyed by its content (restore), not by its name. Blocks sampled by other code
    # (another chain fit, sampler or network) are not this code's: the stage's code hash keys them too.
    after_blocks = {"quality_gate", "gate", *CONSISTENCY_SETTINGS}
    key = {"params": params.model_dump(mode="json", exclude=after_blocks | {"reference"}),
           "code": ctx.code_hash}
    try:
        result = restore(mono, bundle, babe2_settings(params, chosen), work=work, device=device,
                         checkpoints=ctx.stage_dir / "blocks", checkpoint_key=key, progress=progress,
                         reference=instrument,
                         eq_curves=eq_stage_curves(ctx) if params.consistency_withheld else None)
    finally:
        bar.close()
    observed = result.observed
    restored_model, restored = work / "restored_model.wav", work / "restored.wav"
    array_to_wav(result.restored, restored_model, model_sr)
    kept_above_hz = to_master_rate(restored_model, mono, source, restored)
    audio_path = ctx.stage_dir / "audio.wav"
    # The untouched input is the audio before any EQ: the chain's pre-LTAS-EQ signal when an
    # ltas_eq step ran before this stage, else this stage's own input.
    internal_eq = params.ltas_eq_init or params.ltas_eq_objective
    pre_eq = None if internal_eq else untouched_input(ctx)
    untouched = mono_at_rate(pre_eq, work / "untouched.wav", model_sr) if pre_eq is not None else mono
    gate = (run_gate(GateInputs(untouched, observed, restored_model), work, ref, params.gate)
            if params.quality_gate else None)
    if gate is not None and gate.fallback and not internal_eq:
        shutil.copyfile(inputs["audio"], audio_path)  # the LTAS-EQ result, exactly as that stage wrote it
    elif gate is not None and gate.fallback:
        equalised = work / "equalised_master_rate.wav"
        to_master_rate(observed, mono, source, equalised)
        copy_to_layout(equalised, audio_path, info.channels, info.frames)
    else:
        copy_to_layout(restored, audio_path, info.channels, info.frames)
    gate_artifacts = (record_gate(gate, ctx.stage_dir, restored) if gate is not None else {})

    filters = result.filters_json()
    before, after = ltas_of_file(mono, ref.n_fft), ltas_of_file(restored_model, ref.n_fft)
    # Synthesised relative to the untouched input, not to the already-equalised signal.
    untouched_ltas = ltas_of_file(untouched, ref.n_fft) if untouched != mono else before
    generated = generated_bands(untouched_ltas, after)
    fallback = gate is not None and gate.fallback
    curves = {
        "sample_rate": model_sr, "n_fft": ref.n_fft,
        "freqs_hz": before.freqs_hz.round(3).tolist(),
        "input_db": before.db().round(3).tolist(),
        "output_db": after.db().round(3).tolist(),
        "untouched_db": untouched_ltas.db().round(3).tolist(),
        "reference_db": ref.db().round(3).tolist() if ref.sample_rate == model_sr else None,
        "generated_bands_hz": [] if fallback else generated,
        "rejected_generated_bands_hz": generated if fallback else [],
        "generated_threshold_db": GENERATED_BAND_DB,
    }
    n_blocks, resumed = len(result.reports), result.resumed_blocks
    del result  # its memory map lives in work/
    shutil.rmtree(work)
    filters_path = ctx.stage_dir / "filters.json"
    curves_path = ctx.stage_dir / "ltas.json"
    atomic_write_json(filters_path, filters)
    atomic_write_json(curves_path, curves)
    seconds = time.monotonic() - started
    run_settings = chain_settings([*((str(r["stage"]), r.get("params", {})) for r in ctx.history),
                                   ("generative_eq", params.model_dump(mode="json"))])
    standing = bundle.card.heldout
    if standing is not None:
        standing = standing.model_copy(update={"settings": as_measured(standing.settings, run_settings)})
    return StageOutput(
        artifacts={"audio": audio_path, "filters": filters_path, "generative_ltas": curves_path,
                   **gate_artifacts},
        metrics=json.loads(json.dumps({
            "model": params.model, "model_checksum": bundle.checksum, "device": str(device),
            "sampler": {**chosen, "source": "bundle" if chosen != sampler_values(
                params.model_copy(update={"guidance": "params"}), None) else "params"},
            "blocks": n_blocks, "resumed_blocks": resumed,
            "seconds": round(seconds, 2), "real_time_factor": round(seconds / info.duration_s, 3),
            "generated_bands_hz": [] if fallback else generated,
            "rejected_generated_bands_hz": generated if fallback else [],
            "access_copy": "ltas_eq" if fallback else "generative",
            "input_kept_above_hz": kept_above_hz,
            "quality_gate": gate.to_json() if gate is not None else None,
            "model_standing": standing_record(params.model, standing, run_settings),
        })),
    )


STAGE = Stage(
    name="generative_eq",
    version="3",
    params_cls=GenerativeEqParams,
    consumes=("audio",),
    run=run,
    fingerprint=fingerprint,
    gpu=True,
    # No out-of-memory fallback: the block length is the model's training segment (the CQT
    # U-Net is built for it) and blocks already run one at a time, batch 1.
    oom_fallback=None,
    description="BABE-2 generative equalisation (diffusion posterior sampling, blind filter)",
)
