"""The one BABE-2 pipeline: LTAS-EQ choice, warm start, blind-filter factory, block loop, reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from shellac.engine.audio_io import read_audio
from shellac.engine.blocks.checkpoints import BlockCheckpointStore
from shellac.engine.diffusion.guidance import Denoiser
from shellac.engine.dsp.ltas import Ltas, ltas_equalize_file
from shellac.engine.dsp.ltas_reference import reference_ltas_eq
from shellac.engine.errors import ParameterError
from shellac.engine.fixity import sha256_file, sha256_json
from shellac.engine.models.loaded import LoadedBundle
from shellac.engine.operators.base import BlindOperator
from shellac.engine.operators.blind_filter import BlindFilter
from shellac.engine.operators.chain_init import ChainStart, chain_filter_start
from shellac.engine.operators.lowpass_filter import LowpassBlindFilter
from shellac.engine.restoration.consistency import N_FFT as CONSISTENCY_N_FFT
from shellac.engine.restoration.consistency import (
    Consistency,
    EqCurves,
    bin_frequencies,
    fuse_to_memmap,
    withheld_response,
)
from shellac.engine.restoration.driver import ProgressFn, restore_blocks
from shellac.engine.restoration.handover import SIGMA_NORM, ReferenceHandOver
from shellac.engine.restoration.operators import REPORT_FREQS_HZ, BlindFilterOperators
from shellac.engine.restoration.settings import BlockSettings, SamplerSettings
from shellac.engine.stream import wav_to_memmap


@dataclass(frozen=True)
class Babe2Settings:
    """Everything a BABE-2 restoration needs besides the model and the observation.

    Attributes
    ----------
    sampler
        Sampler numbers (N, σ_start, σ_min, ρ, ξ, σ_y, churn).
    filter
        ``"babe2"`` piecewise dB/octave filter, or ``"lowpass"`` (BABE v1 style).
    filter_design
        ``"shellac"`` continuous design, or ``"reference"`` bin-anchored (the reference's fit).
    filter_init
        ``"babe2"``: the paper's 2 kHz low-pass start; ``"chain"``: the recording chain
        fitted once over the whole observation against the model's reference LTAS.
    filter_iters, filter_lr
        Adam iterations per filter fit and its learning rate.
    ltas_eq_init, ltas_eq_objective
        Start the sampler from / guide towards the LTAS-equalised observation.
    max_boost_db
        LTAS-EQ boost limit, dB.
    overlap_fraction, carry_filter, seed
        Block overlap (fraction of the segment), filter hand-over, noise seed.
    mask_aware_fit
        Keep the samples a block already knows (its overlap) out of the filter's fit
        (the reference fits against all of y).
    hand_over
        ``"shellac"``: blocks scaled to σ_data by the median std of the valid samples,
        the previous output as the overlap's warm start, padding unobserved; ``"reference"``:
        the reference's σ_norm gain over all blocks, the LTAS-EQ'd segment as warm
        start, padding observed as zeros through the filter (held in memory, no block checkpoints).
    consistency
        ``"none"``: the sampler's output as it is (the paper); ``"posterior"``: every STFT
        bin of it corrected into a posterior sample given the guidance target, its noise
        floor and the residual response, after dividing out the card's spectral bias at
        this N if measured (:mod:`~shellac.engine.restoration.consistency`); ``"anchored"``:
        the same correction with the input kept wherever it holds signal and the generated
        band levelled to the input at the edges of its signal range; ``"anchored-ltas"``:
        as ``"anchored"``, with the generated band beyond those edges falling off as the
        bundle's reference LTAS does (never above the prior's own balance). Each runs
        after the blocks, so it leaves block checkpoints valid.
    consistency_floor
        With a consistency form: in every bin where the input holds only noise, the
        generated content brought down (never up) to the input's own level there.
    consistency_floor_db
        With ``consistency_floor``: the limit stands this many dB above the input's level (the
        chain EQ left noise-only bands that far under the clean level it expects: its
        ``snr_margin_db``).
    consistency_evidence
        With a consistency form: the prior's power in a cell never below what the input
        shows there above its noise, so a quiet sample never erases observed music.
    consistency_balance
        With a consistency form: then move the output's long-term balance this share of
        the way (0 … 1, in dB) to the input's, where the input holds signal, with one gain
        per STFT bin for the whole recording (0: no such pass).
    consistency_balance_smooth
        With ``consistency_balance``: that gain as one smooth curve over frequency, each bin's dB
        gain weighted by the share of the input's power in its third-octave window that stands above
        the noise floor, so no lone bin beyond the cut-off becomes a steady line (False: bin by bin).
    consistency_floor_low
        With a consistency form: the generated content in the noise-only bins below the
        input's pass band (the quality gate's low cut-off) no louder than the input there.
    consistency_balance_in_range
        With ``consistency_balance``: that gain is 1 outside the input's signal range (the anchored
        form's edges), so a stray bin of hiss beyond the cut-off is left alone (False: every bin).
    consistency_withheld
        With an anchored form: the share (0 … 1, in dB) of the boost the preceding EQ stage
        withheld (its noise limits) that the correction gives back, cell by cell where the
        music stands over the noise (:func:`~shellac.engine.restoration.consistency.withheld_response`;
        needs that stage's curves); 0: none.
    consistency_withheld_max_hz
        With ``consistency_withheld``: the boost is given back up to this frequency only.
    consistency_noise_slope_db
        With a consistency form: the step's noise floor (signal test, H, floor, Wiener gain,
        balance pass) limited to this slope, dB per octave
        (:func:`~shellac.engine.restoration.consistency.posterior_fuse`'s ``noise_slope_db``);
        None: the unlimited minimum-statistics floor.
    preset
        ``"shellac"``: this engine's restoration; ``"reference"``: the BABE-2
        reference code's, item by item (docs/babe2-parity.md): its LTAS-EQ, block
        hand-over, fresh reference-design filter per block, sampling and output
        filter, on the same driver; the observation is then held in memory and
        blocks are not checkpointed.
    """

    sampler: SamplerSettings
    filter: Literal["babe2", "lowpass"] = "babe2"
    filter_design: Literal["shellac", "reference"] = "shellac"
    filter_init: Literal["babe2", "chain"] = "babe2"
    filter_iters: int = 100
    filter_lr: float = 10.0
    ltas_eq_init: bool = True
    ltas_eq_objective: bool = True
    max_boost_db: float = 20.0
    overlap_fraction: float = 0.1
    carry_filter: bool = True
    seed: int = 0
    preset: Literal["shellac", "reference"] = "shellac"
    mask_aware_fit: bool = True
    hand_over: Literal["shellac", "reference"] = "shellac"
    consistency: Literal["none", "posterior", "anchored", "anchored-ltas"] = "none"
    consistency_floor: bool = False
    consistency_floor_db: float = 0.0
    consistency_evidence: bool = False
    consistency_balance: float = 0.0
    consistency_balance_smooth: bool = False
    consistency_balance_in_range: bool = False
    consistency_floor_low: bool = False
    consistency_withheld: float = 0.0
    consistency_withheld_max_hz: float = 500.0
    consistency_noise_slope_db: float | None = None


CONSISTENCY_SETTINGS = ("consistency", "consistency_floor", "consistency_floor_db", "consistency_evidence",
                        "consistency_balance", "consistency_balance_smooth", "consistency_balance_in_range",
                        "consistency_floor_low", "consistency_withheld", "consistency_withheld_max_hz",
                        "consistency_noise_slope_db")
"""The settings of the step after the blocks: changing them keeps the block checkpoints."""


@dataclass
class Babe2Restoration:
    """A BABE-2 run's output at the model's rate and what it estimated.

    ``restored`` is memory-mapped (``work/restored.npy``, float32); ``observed`` is
    the LTAS-equalised observation file (the mono input when no LTAS-EQ ran);
    ``eq_diff_db`` the LTAS-EQ gain (dB) on the reference LTAS's FFT bins;
    ``consistency`` what the data-consistency step did (None when it did not run).
    """

    restored: np.ndarray
    observed: Path
    sample_rate: int
    preset: str
    reports: list[dict[str, Any]] = field(default_factory=list)
    gain: float | None = None
    resumed_blocks: int = 0
    eq_diff_db: np.ndarray | None = None
    chain_start: ChainStart | None = None
    consistency: Consistency | None = None

    def filters_json(self) -> dict[str, Any]:
        """``filters.json``: each block's filter (and its response), the gain, the chain start."""
        if self.preset == "reference":
            blocks = [{"index": r["index"], "filter": r["filter"]} for r in self.reports]
            return {"sample_rate": self.sample_rate, "preset": "reference", "blocks": blocks}
        filters: dict[str, Any] = {
            "sample_rate": self.sample_rate,
            "freqs_hz": [round(float(f), 3)
                         for f in REPORT_FREQS_HZ[REPORT_FREQS_HZ <= self.sample_rate / 2]],
            "gain": self.gain,
            "blocks": self.reports,
        }
        if self.chain_start is not None:
            filters["chain_init"] = self.chain_start.to_json()
        if self.consistency is not None:
            filters["consistency"] = self.consistency.to_json()
        return filters


def restore(
    mono: Path,
    bundle: LoadedBundle,
    settings: Babe2Settings,
    *,
    work: Path,
    device: torch.device | str = "cpu",
    checkpoints: Path | None = None,
    checkpoint_key: Mapping[str, Any] | None = None,
    denoiser: Denoiser | None = None,
    progress: ProgressFn | None = None,
    reference: Ltas | None = None,
    eq_curves: EqCurves | None = None,
) -> Babe2Restoration:
    """Restore the mono file ``mono`` (at the model's rate) with BABE-2; the ``generative_eq`` stage and
    ``shellac bench`` both call this.

    Parameters
    ----------
    mono
        Observation, a mono file at ``bundle.config.sample_rate``.
    settings
        See :class:`Babe2Settings`.
    work
        Folder for the intermediate files (LTAS-equalised signal, memory maps);
        the caller removes it when done with the result.
    checkpoints
        Folder of block checkpoints (Shellac preset), under a run key over the
        observation, warm start, settings, model and ``checkpoint_key``.
    denoiser
        A wrapper of ``bundle.denoiser(device, preset=settings.preset)`` (e.g. one that
        counts calls); that denoiser when None.
    progress
        Called after every sampler step (Shellac preset).
    reference
        The clean reference LTAS of the instrument (LTAS-EQ, the chain start, the
        ``anchored-ltas`` form); the bundle's own when None.
    eq_curves
        The curves of the EQ stage that made ``mono`` (``consistency_withheld``).
    """
    for option in ("consistency_floor", "consistency_evidence", "consistency_balance",
                   "consistency_withheld", "consistency_floor_low", "consistency_noise_slope_db"):
        if getattr(settings, option) and settings.consistency == "none":
            raise ParameterError(f"{option} changes a consistency form's correction: set consistency too")
    for option in ("consistency_balance_smooth", "consistency_balance_in_range"):
        if getattr(settings, option) and not settings.consistency_balance:
            raise ParameterError(f"{option} shapes the balance pass's gain: set consistency_balance too")
    if settings.consistency_floor_db and not settings.consistency_floor:
        raise ParameterError("consistency_floor_db raises the consistency floor: set consistency_floor too")
    if settings.consistency_withheld and settings.consistency not in ("anchored", "anchored-ltas"):
        raise ParameterError("consistency_withheld sets an anchored form's response: set consistency to "
                             "'anchored' or 'anchored-ltas'")
    if settings.consistency_withheld and eq_curves is None:
        raise ParameterError("consistency_withheld gives back the boost an EQ stage withheld: it needs that "
                             "stage's curves (a 'chain' ltas_eq step before this one)")
    if settings.consistency_withheld and settings.ltas_eq_objective:
        raise ParameterError("consistency_withheld describes the EQ stage's output, but with "
                             "ltas_eq_objective the guidance target is this restoration's own LTAS-EQ")
    device = torch.device(device)
    work.mkdir(parents=True, exist_ok=True)
    if denoiser is None:
        denoiser = bundle.denoiser(device, preset=settings.preset)
    ref = bundle.reference(reference)
    if settings.preset == "reference":
        return _restore_reference(mono, bundle, settings, ref, work=work, device=device, denoiser=denoiser)
    s, cfg = settings, bundle.config
    observed, diff_db = mono, None
    if s.ltas_eq_init or s.ltas_eq_objective:
        observed = work / "equalised.wav"
        diff_db, _ = ltas_equalize_file(mono, observed, ref, n_fft=ref.n_fft, max_boost_db=s.max_boost_db)
    y = wav_to_memmap(observed if s.ltas_eq_objective else mono, work / "y.npy")
    x_init = wav_to_memmap(observed if s.ltas_eq_init else mono, work / "x_init.npy")
    chain_start = None
    if s.filter_init == "chain" and s.filter == "babe2":
        chain_start = chain_filter_start(observed if s.ltas_eq_objective else mono, ref)

    def make_filter() -> BlindOperator:
        if s.filter == "lowpass":
            return LowpassBlindFilter(cfg.sample_rate, n_iters=s.filter_iters, lr=s.filter_lr, device=device)
        init = chain_start.params if chain_start is not None else None
        return BlindFilter(cfg.sample_rate, init=init, design=s.filter_design, n_iters=s.filter_iters,
                           lr=s.filter_lr, device=device)

    operators = BlindFilterOperators(make_filter, carry=s.carry_filter, mask_aware_fit=s.mask_aware_fit,
                                     pad_observed=s.hand_over == "reference")
    blocks = BlockSettings(segment_length=cfg.segment_length, overlap_fraction=s.overlap_fraction,
                           carry_filter=s.carry_filter, seed=s.seed)
    out = np.lib.format.open_memmap(work / "restored.npy", mode="w+", dtype=np.float32, shape=y.shape)
    if s.hand_over == "reference":
        hand_over = ReferenceHandOver(cfg.segment_length, s.overlap_fraction,
                                      SIGMA_NORM.get(cfg.sample_rate, cfg.sigma_data))
        result = restore_blocks(denoiser, y, operators=operators, sampler=s.sampler, blocks=blocks,
                                target_std=cfg.sigma_data, x_init=x_init, device=device, progress=progress,
                                hand_over=hand_over)
        out[:] = result.audio.astype(np.float32)
    else:
        store = None
        if checkpoints is not None:
            # The consistency step runs after the blocks: changing it keeps them.
            sampled = {k: v for k, v in asdict(s).items() if k not in CONSISTENCY_SETTINGS}
            # The reference sets the filters' chain start: another one makes other blocks. So does the
            # chain fit itself, whatever the reference: the start it gave is part of the key.
            instrument = {} if reference is None else {"reference": sha256_json(reference.to_json_dict())}
            start = {} if chain_start is None else {"chain_start": chain_start.to_json()}
            run_key = sha256_json({"y": sha256_file(work / "y.npy"), "x": sha256_file(work / "x_init.npy"),
                                   "settings": sampled, "model": bundle.checksum, **instrument, **start,
                                   **(checkpoint_key or {})})
            store = BlockCheckpointStore(checkpoints, run_key)
        result = restore_blocks(
            denoiser, y, operators=operators, sampler=s.sampler, blocks=blocks, target_std=cfg.sigma_data,
            x_init=x_init, checkpoints=store, device=device, progress=progress, out=out)
    out.flush()
    consistency = None
    if s.consistency != "none":
        reference_power = (ref.on_bins(cfg.sample_rate, CONSISTENCY_N_FFT)
                           if s.consistency == "anchored-ltas" else None)
        withheld = (withheld_response(eq_curves, cfg.sample_rate, s.consistency_withheld,
                                      s.consistency_withheld_max_hz)
                    if eq_curves is not None and s.consistency_withheld else None)
        out, consistency = fuse_to_memmap(y, out, cfg.sample_rate, work / "consistent.npy",
                                          prior_correction=prior_correction(bundle, s), form=s.consistency,
                                          reference_power=reference_power, floor=s.consistency_floor,
                                          evidence=s.consistency_evidence, balance=s.consistency_balance,
                                          floor_margin_db=s.consistency_floor_db, withheld=withheld,
                                          balance_smooth=s.consistency_balance_smooth,
                                          balance_in_range=s.consistency_balance_in_range,
                                          floor_low=s.consistency_floor_low,
                                          noise_slope_db=s.consistency_noise_slope_db)
    return Babe2Restoration(restored=out, observed=observed, sample_rate=cfg.sample_rate, preset=s.preset,
                            reports=result.reports, gain=result.gain, resumed_blocks=result.resumed_blocks,
                            eq_diff_db=diff_db, chain_start=chain_start, consistency=consistency)


def prior_correction(bundle: LoadedBundle, settings: Babe2Settings) -> np.ndarray | None:
    """The consistency step's correction of the prior's sample: the card's spectral bias at this N."""
    bias = bundle.card.spectral_bias
    if bias is None:
        return None
    return bias.amplitude_correction(settings.sampler.n_steps, bin_frequencies(bundle.config.sample_rate))


def _restore_reference(mono: Path, bundle: LoadedBundle, s: Babe2Settings, ref: Ltas, *, work: Path,
                       device: torch.device, denoiser: Denoiser) -> Babe2Restoration:
    """The reference's restoration on the one driver: its LTAS-EQ at the stored reference level, its
    hand-over (:class:`ReferenceHandOver`), a fresh reference-design filter per block, γ = S_churn/(N+1)
    and no final Euler step; held in memory."""
    if s.consistency != "none":
        raise ParameterError("the reference preset restores as the paper does: consistency must be 'none'")
    cfg = bundle.config
    model_sr = cfg.sample_rate
    y = read_audio(mono)[0][0].astype(np.float64)
    equalised, diff_db = y, None
    if s.ltas_eq_init or s.ltas_eq_objective:
        power = ref.on_bins(model_sr, ref.n_fft) * ref.stored_scale
        equalised, diff_db = reference_ltas_eq(y, model_sr, power, n_fft=ref.n_fft,
                                               max_boost_db=s.max_boost_db)

    def make_filter() -> BlindFilter:
        return BlindFilter(model_sr, design="reference", n_iters=s.filter_iters, lr=s.filter_lr,
                           device=device)

    sampler = replace(s.sampler, churn_n=s.sampler.n_steps + 1, final_euler=False)
    hand_over = ReferenceHandOver(cfg.segment_length, s.overlap_fraction,
                                  SIGMA_NORM.get(model_sr, cfg.sigma_data))
    result = restore_blocks(
        denoiser, equalised if s.ltas_eq_objective else y,
        operators=BlindFilterOperators(make_filter, carry=False, pad_observed=True), sampler=sampler,
        blocks=BlockSettings(segment_length=cfg.segment_length, seed=s.seed), target_std=cfg.sigma_data,
        x_init=equalised if s.ltas_eq_init else y, device=device, hand_over=hand_over)
    out = np.lib.format.open_memmap(work / "restored.npy", mode="w+", dtype=np.float32, shape=y.shape)
    out[:] = result.audio.astype(np.float32)
    out.flush()
    return Babe2Restoration(restored=out, observed=mono, sample_rate=model_sr, preset="reference",
                            reports=result.reports, gain=result.gain, eq_diff_db=diff_db)
