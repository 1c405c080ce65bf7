"""generative_eq with preset "reference": the BABE-2 reference implementation's restoration, item by item."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import probe
from shellac.engine.device import resolve_device
from shellac.engine.dsp.band_merge import to_master_rate
from shellac.engine.dsp.ltas import ltas_of_file
from shellac.engine.dsp.resample import resample_file
from shellac.engine.restoration.babe2 import restore
from shellac.engine.restoration.reports import generated_bands
from shellac.engine.stream import array_to_wav, copy_to_layout
from shellac.stages.base import StageContext, StageOutput
from shellac.stages.generative_eq import (
    GenerativeEqParams,
    babe2_settings,
    instrument_reference,
    sampler_values,
)
from shellac.stages.quality_gate import mono_at_rate


def run_reference(inputs: Mapping[str, Path], params: GenerativeEqParams, ctx: StageContext) -> StageOutput:
    """Restore ``audio`` as the reference does; write ``audio.wav``, ``filters.json`` and ``ltas.json``.

    Mono at the model's rate, held in memory; the LTAS-EQ (when asked) against
    the model's reference LTAS at its stored level; the reference's block
    driver, a fresh reference-design filter per block fitted against all of y,
    γ = S_churn/(N+1) and no final Euler step. No block checkpoints: a killed
    run starts again.
    """
    started = time.monotonic()
    device = resolve_device(ctx.device)
    info = probe(inputs["audio"])
    bundle = ctx.models.load(params.model, device=str(device))
    instrument = instrument_reference(params, ctx, bundle)
    cfg, ref = bundle.config, bundle.reference(instrument)
    model_sr = cfg.sample_rate
    work = ctx.stage_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    # One mono mix at the master's rate: the model gets it resampled, and the access copy keeps its
    # band above the model's Nyquist frequency (to_master_rate).
    source = mono_at_rate(inputs["audio"], work / "source.wav", info.sample_rate)
    mono = work / "mono.wav"
    resample_file(source, mono, model_sr)
    # The reference takes its numbers from the parameters, never from a bundle's measured guidance.
    result = restore(mono, bundle, babe2_settings(params, sampler_values(params, None)), work=work,
                     device=device, reference=instrument)
    restored_model, restored_wav = work / "restored_model.wav", work / "restored.wav"
    array_to_wav(result.restored, restored_model, model_sr)
    kept_above_hz = to_master_rate(restored_model, mono, source, restored_wav)
    audio_path = ctx.stage_dir / "audio.wav"
    copy_to_layout(restored_wav, audio_path, info.channels, info.frames)
    before, after = ltas_of_file(mono, ref.n_fft), ltas_of_file(restored_model, ref.n_fft)
    generated = generated_bands(before, after)
    filters = result.filters_json()
    del result  # its memory map lives in work/
    shutil.rmtree(work)
    filters_path, curves_path = ctx.stage_dir / "filters.json", ctx.stage_dir / "ltas.json"
    atomic_write_json(filters_path, filters)
    atomic_write_json(curves_path, {
        "sample_rate": model_sr, "n_fft": ref.n_fft, "freqs_hz": before.freqs_hz.round(3).tolist(),
        "input_db": before.db().round(3).tolist(), "output_db": after.db().round(3).tolist(),
        "generated_bands_hz": generated,
    })
    seconds = time.monotonic() - started
    return StageOutput(
        artifacts={"audio": audio_path, "filters": filters_path, "generative_ltas": curves_path},
        metrics=json.loads(json.dumps({
            "model": params.model, "model_checksum": bundle.checksum, "device": str(device),
            "preset": "reference", "blocks": len(filters["blocks"]), "seconds": round(seconds, 2),
            "generated_bands_hz": generated, "input_kept_above_hz": kept_above_hz,
        })),
    )
