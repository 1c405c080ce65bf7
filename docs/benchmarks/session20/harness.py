"""Experiment record (session 20): the chain-EQ variant scripts' shared excerpt loop (not shipped code).

`chain_cases` yields, for validation excerpts FIRST..N-1 of the cached piano-ltas/chain runs, the
excerpt, its denoised signal (the chain EQ's input), the reference's band curves, a scorer (LSD and
LTAS error against the clean render) and the row every variant is scored beside: the untouched
input, LTAS-EQ and the cached chain run's own output. The output format is session 19's
hpslope_variants.py, so session19/summarise_variants.py decides.
"""
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.dsp.band_spectrum import (
    BandGrid,
    BandSpectrum,
    band_grid,
    band_spectrum,
    ltas_on_bands,
    shape_basis_on_bands,
    spread_on_bands,
)
from shellac.engine.models.bundle import read_reference_ltas
from shellac.lab.evaluation.metrics import lsd
from shellac.lab.evaluation.spectral_balance import ltas_error_db
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import ChainRun, HeldoutExcerpt, prepare_excerpts


@dataclass
class ChainCase:
    """One excerpt ready for chain-EQ variants."""

    excerpt: HeldoutExcerpt
    denoised: np.ndarray
    grid: BandGrid
    observed: BandSpectrum
    reference: dict[str, np.ndarray]  # keyword arguments of design_chain_eq's reference curves
    score: Callable[[np.ndarray], list[float]]
    row: dict[str, object]


def chain_cases(cache: Path, font: str, first: int, n: int) -> Iterator[ChainCase]:
    """The cases of validation excerpts FIRST..N-1 (FONT: - for the held-out one)."""
    ref = read_reference_ltas(Path("models/piano"))
    chain_key = ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}).key()
    ltas_key = ChainRun("piano-ltas", {}).key()
    part = load_heldout("validation", kind="piano")
    if font != "-":
        part = replace(part, soundfont=find_soundfont(Path(font)))
    for e in prepare_excerpts(part, n, 5.5, 22050, 0, cache, log=lambda s: None)[first:]:
        sr, size = e.sample_rate, e.clean.size

        def mono(path: Path, size: int = size) -> np.ndarray:
            x, _ = sf.read(path, dtype="float64")
            return (x if x.ndim == 1 else x.mean(axis=1))[:size]

        def score(y: np.ndarray, e: HeldoutExcerpt = e) -> list[float]:
            return [lsd(e.clean, y), ltas_error_db(e.clean, y, e.sample_rate, e.response_freqs_hz, e.response_db)]

        den = mono(e.master.parent / chain_key / "01-denoise" / "audio.wav")
        cached = mono(sorted((e.master.parent / chain_key).glob("0*-ltas_eq/audio.wav"))[0])
        ltas = mono(sorted((e.master.parent / ltas_key).glob("0*-ltas_eq/audio.wav"))[0])
        grid = band_grid(sr)
        yield ChainCase(e, den, grid, band_spectrum(den, sr, grid),
                        {"reference_power": ltas_on_bands(ref, grid, sr),
                         "reference_spread_db": spread_on_bands(ref, grid, sr),
                         "reference_shape_basis_db": shape_basis_on_bands(ref, grid, sr)},
                        score, {"name": e.name, "input": score(e.degraded[:size]), "ltas_eq": score(ltas),
                                "cached_chain": score(cached)})
