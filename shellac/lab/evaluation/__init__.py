"""Objective benchmark of the generative EQ: evaluation set, variants, metrics, runner, report."""

from shellac.lab.evaluation.dataset import Excerpt, build_evaluation_set, clean_files
from shellac.lab.evaluation.embedding import LogMelEmbedding, frechet_distance, mel_filterbank
from shellac.lab.evaluation.metrics import (
    effective_response_db,
    filter_error_db,
    least_squares_gain,
    log_grid,
    lsd,
    ltas_distance_db,
    pass_band,
    si_sdr,
)
from shellac.lab.evaluation.report import machine_info, markdown_table, write_report
from shellac.lab.evaluation.runner import BenchResult, BenchSettings, VariantResult, run_benchmark
from shellac.lab.evaluation.tiny_model import save_tiny_random_bundle
from shellac.lab.evaluation.variants import PRESETS, VARIANT_KEYS, VARIANTS, Variant, select_variants
from shellac.lab.evaluation.visqol import Visqol, visqol_available

__all__ = [
    "PRESETS",
    "VARIANTS",
    "VARIANT_KEYS",
    "BenchResult",
    "BenchSettings",
    "Excerpt",
    "LogMelEmbedding",
    "Variant",
    "VariantResult",
    "Visqol",
    "build_evaluation_set",
    "clean_files",
    "effective_response_db",
    "filter_error_db",
    "frechet_distance",
    "least_squares_gain",
    "log_grid",
    "lsd",
    "ltas_distance_db",
    "machine_info",
    "markdown_table",
    "mel_filterbank",
    "pass_band",
    "run_benchmark",
    "save_tiny_random_bundle",
    "select_variants",
    "si_sdr",
    "visqol_available",
    "write_report",
]
