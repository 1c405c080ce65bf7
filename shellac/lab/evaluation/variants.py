"""The compared restorations (BABE-2 paper's Table 1 rows and ablations) and how each is run."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from shellac.engine.diffusion.guidance import Denoiser
from shellac.engine.dsp.ltas import Ltas, ltas_equalize
from shellac.engine.errors import ParameterError
from shellac.engine.models.loaded import LoadedBundle
from shellac.engine.operators.blind_filter import BlindFilter
from shellac.engine.operators.lowpass_filter import LowpassBlindFilter
from shellac.engine.operators.parametric import ParametricBlindFilter
from shellac.engine.restoration.babe2 import Babe2Settings, restore
from shellac.engine.restoration.settings import BABE2_SAMPLER, SamplerSettings
from shellac.engine.stream import array_to_wav
from shellac.lab.evaluation.metrics import interp_log_freq
from shellac.lab.evaluation.reference_variant import reference_response


@dataclass(frozen=True)
class Variant:
    """One row of the benchmark.

    Attributes
    ----------
    key, label
        Identifier (CLI, JSON) and table label.
    filter_kind
        ``"babe2"`` or ``"lowpass"`` for generative rows; None for the model-free rows.
    ltas_eq
        Model-free rows only: apply LTAS-EQ (else the degraded input is scored as it is).
    ltas_eq_init, ltas_eq_objective
        Generative rows: start the sampler from / guide towards the LTAS-equalised input.
    noise_regularisation
        Generative rows: use σ_y of the sampler settings (False: σ_y = 0).
    preset
        ``"reference"``: the BABE-2 reference implementation item by item
        (docs/babe2-parity.md); the other fields then do not apply.
    filter_design, carry_filter, reference_sampling, mask_aware_fit, hand_over
        Shellac rows, for ablations: the filter design (``"shellac"`` continuous or
        ``"reference"`` bin-anchored, with the reference's fit), whether the filter
        is carried across blocks, the reference's γ = S_churn/(N+1) with no final
        Euler step, whether known samples stay out of the filter's fit, and the block
        hand-over (gain target, warm start, padding: ``"shellac"`` or ``"reference"``).
    """

    key: str
    label: str
    filter_kind: str | None = None
    ltas_eq: bool = False
    ltas_eq_init: bool = False
    ltas_eq_objective: bool = False
    noise_regularisation: bool = True
    preset: str = "shellac"
    filter_design: str = "shellac"
    carry_filter: bool = True
    reference_sampling: bool = False
    mask_aware_fit: bool = True
    hand_over: str = "shellac"

    @property
    def generative(self) -> bool:
        """Whether the row runs the diffusion sampler."""
        return self.filter_kind is not None


VARIANTS: tuple[Variant, ...] = (
    Variant("original", "Original (degraded)"),
    Variant("ltas_eq", "LTAS-EQ", ltas_eq=True),
    # BABE (v1) style: only the blind filter differs from the BABE-2 row, so the filter's effect is isolated.
    Variant("babe_lowpass", "BABE (low-pass filter)", filter_kind="lowpass"),
    Variant("babe2", "BABE-2", filter_kind="babe2"),
    Variant("babe2_no_noise_reg", "BABE-2 w/o noise reg. (σ_y = 0)", filter_kind="babe2",
            noise_regularisation=False),
    Variant("babe2_ltas_init", "BABE-2 w/ LTAS-EQ init.", filter_kind="babe2", ltas_eq_init=True),
    Variant("babe2_ltas_obj", "BABE-2 w/ LTAS-EQ obj.", filter_kind="babe2", ltas_eq_objective=True),
    Variant("babe2_ltas_both", "BABE-2 w/ LTAS-EQ obj. + init.", filter_kind="babe2",
            ltas_eq_init=True, ltas_eq_objective=True),
)
# Shellac's own choices, each put back to the reference's on top of the full Shellac row, and the reference.
ABLATIONS: tuple[Variant, ...] = (
    Variant("babe2_reference", "BABE-2 reference preset", filter_kind="babe2", ltas_eq_init=True,
            ltas_eq_objective=True, preset="reference"),
    Variant("ablate_filter_design", "Shellac w/ reference filter design + fit", filter_kind="babe2",
            ltas_eq_init=True, ltas_eq_objective=True, filter_design="reference"),
    Variant("ablate_carry_filter", "Shellac w/ fresh filter per block", filter_kind="babe2",
            ltas_eq_init=True, ltas_eq_objective=True, carry_filter=False),
    Variant("ablate_sampling", "Shellac w/ reference churn (N+1) and no final Euler", filter_kind="babe2",
            ltas_eq_init=True, ltas_eq_objective=True, reference_sampling=True),
    Variant("ablate_mask_aware_fit", "Shellac w/ filter fit on all of y (overlap included)",
            filter_kind="babe2", ltas_eq_init=True, ltas_eq_objective=True, mask_aware_fit=False),
    Variant("ablate_hand_over", "Shellac w/ reference block hand-over (σ_norm gain, EQ'd warm start)",
            filter_kind="babe2", ltas_eq_init=True, ltas_eq_objective=True, hand_over="reference"),
)
VARIANT_KEYS: tuple[str, ...] = tuple(v.key for v in (*VARIANTS, *ABLATIONS))


def select_variants(keys: list[str] | None) -> tuple[Variant, ...]:
    """The variants named by ``keys`` in table order (the paper's rows when None; ablations by name)."""
    if not keys:
        return VARIANTS
    unknown = sorted(set(keys) - set(VARIANT_KEYS))
    if unknown:
        raise ParameterError(f"unknown variants {unknown}; known: {', '.join(VARIANT_KEYS)}")
    return tuple(v for v in (*VARIANTS, *ABLATIONS) if v.key in keys)


BABE2 = Babe2Settings(sampler=BABE2_SAMPLER)
"""The pipeline's defaults, which the benchmark's shared settings start from."""

# The paper's Table 3 sampler settings per content type.
PRESETS: dict[str, SamplerSettings] = {
    "piano": BABE2_SAMPLER,
    "voice": SamplerSettings(n_steps=51, sigma_start=10.0, sigma_min=1e-3, rho=13.0, xi=0.5, sigma_y=1.0),
}


@dataclass(frozen=True)
class RestorationSettings:
    """Everything a generative row needs besides the model and the variant."""

    sampler: SamplerSettings
    filter_iters: int = BABE2.filter_iters
    filter_lr: float = BABE2.filter_lr
    overlap_fraction: float = BABE2.overlap_fraction
    max_boost_db: float = BABE2.max_boost_db


@dataclass
class ExcerptOutput:
    """A variant's output for one excerpt.

    ``response_db`` holds one estimated degradation response per block (dB on
    the runner's frequency grid); LTAS-EQ's is its applied difference curve and
    the unprocessed input's is flat (0 dB: "no correction").
    """

    audio: np.ndarray
    response_db: list[np.ndarray]


def _rebuild_filter(kind: str, sample_rate: int, values: dict[str, object]) -> ParametricBlindFilter:
    cls = BlindFilter if kind == "babe2" else LowpassBlindFilter
    design = "reference" if values.get("kind") == "ReferenceBlindFilter" else "shellac"
    blind = cls(sample_rate, design=design) if cls is BlindFilter else cls(sample_rate)
    blind.set_values({k: v for k, v in values.items() if k not in ("kind", "sample_rate")})
    return blind


def babe2_settings(variant: Variant, settings: RestorationSettings, seed: int) -> Babe2Settings:
    """The pipeline settings of a generative row."""
    sampler = settings.sampler if variant.noise_regularisation else replace(settings.sampler, sigma_y=0.0)
    if variant.reference_sampling:
        sampler = replace(sampler, churn_n=sampler.n_steps + 1, final_euler=False)
    return Babe2Settings(
        sampler=sampler, filter="lowpass" if variant.filter_kind == "lowpass" else "babe2",
        filter_design="reference" if variant.filter_design == "reference" else "shellac",
        filter_iters=settings.filter_iters, filter_lr=settings.filter_lr, ltas_eq_init=variant.ltas_eq_init,
        ltas_eq_objective=variant.ltas_eq_objective, max_boost_db=settings.max_boost_db,
        overlap_fraction=settings.overlap_fraction, carry_filter=variant.carry_filter, seed=seed,
        preset="reference" if variant.preset == "reference" else "shellac",
        mask_aware_fit=variant.mask_aware_fit,
        hand_over="reference" if variant.hand_over == "reference" else "shellac",
    )


def run_variant_on_excerpt(
    variant: Variant,
    degraded: np.ndarray,
    bundle: LoadedBundle,
    grid_hz: np.ndarray,
    *,
    denoiser: Denoiser | None,
    settings: RestorationSettings,
    seed: int,
    device: torch.device,
    progress: Callable[[int, int, int, int], None] | None = None,
) -> ExcerptOutput:
    """Restore one degraded excerpt with ``variant``; report the estimated response on ``grid_hz``.

    Generative rows run the production pipeline (:func:`shellac.engine.restoration.babe2.restore`,
    what the ``generative_eq`` stage runs) on the excerpt written as a float32 mono file.

    Parameters
    ----------
    variant
        The row to run.
    degraded
        Degraded mono excerpt at the model's sample rate.
    bundle
        The model (sample rate, reference LTAS, segment length, σ_data).
    grid_hz
        Frequencies (Hz) at which estimated responses are returned.
    denoiser
        ``bundle.denoiser`` (or a wrapper of it, e.g. counting calls) on ``device``; generative rows need it.
    settings
        Sampler, block and filter settings shared by all rows.
    seed
        Seed of the sampler noise; the same for every variant, so rows differ only by method.
    """
    sample_rate, reference_ltas = bundle.config.sample_rate, bundle.reference_ltas
    if not variant.generative:
        return _model_free(variant, degraded, sample_rate, reference_ltas, grid_hz, settings.max_boost_db)
    if denoiser is None:
        raise ParameterError(f"variant {variant.key!r} needs a model")
    with tempfile.TemporaryDirectory(prefix="shellac-bench-") as tmp:
        mono = Path(tmp) / "mono.wav"
        array_to_wav(np.asarray(degraded, dtype=np.float32), mono, sample_rate)
        result = restore(mono, bundle, babe2_settings(variant, settings, seed), work=Path(tmp) / "work",
                         device=device, denoiser=denoiser, progress=progress)
        audio = np.array(result.restored, dtype=np.float64)
        diff_db, reports = result.eq_diff_db, result.reports
        del result  # its memory map lives in the temporary folder
    if variant.preset == "reference":
        return ExcerptOutput(audio=audio, response_db=[reference_response(sample_rate, r["filter"], grid_hz)
                                                       for r in reports])
    offset: np.ndarray | float = 0.0
    if variant.ltas_eq_objective and diff_db is not None:
        # With the LTAS-EQ objective the filter models what the EQ left: the chain's estimate is both.
        offset = interp_log_freq(grid_hz, np.fft.rfftfreq(reference_ltas.n_fft, d=1.0 / sample_rate), diff_db)
    kind = variant.filter_kind or "babe2"
    responses = [_rebuild_filter(kind, sample_rate, r["filter"]).response_db(grid_hz) + offset
                 for r in reports]
    return ExcerptOutput(audio=audio, response_db=responses)


def _model_free(variant: Variant, degraded: np.ndarray, sample_rate: int, reference_ltas: Ltas,
                grid_hz: np.ndarray, max_boost_db: float) -> ExcerptOutput:
    """The degraded input as it is, or its LTAS-EQ, with the response each applies."""
    if not variant.ltas_eq:
        flat = np.zeros_like(grid_hz)
        return ExcerptOutput(audio=np.asarray(degraded, dtype=np.float64), response_db=[flat])
    equalised, diff_db, _ = ltas_equalize(degraded, sample_rate, reference_ltas, n_fft=reference_ltas.n_fft,
                                          max_boost_db=max_boost_db)
    freqs = np.fft.rfftfreq(reference_ltas.n_fft, d=1.0 / sample_rate)
    return ExcerptOutput(audio=np.asarray(equalised, dtype=np.float64),
                         response_db=[interp_log_freq(grid_hz, freqs, diff_db)])
