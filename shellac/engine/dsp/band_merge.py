"""A model-rate restoration brought to the master's rate, with the input's band above the model's Nyquist."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shellac.engine.audio_io import probe
from shellac.engine.dsp.resample import resample_file
from shellac.engine.errors import ParameterError
from shellac.engine.stream import AudioStreamWriter, chunk_frames_for, read_frames


def _mono_frames(path: Path, start: int, stop: int) -> np.ndarray:
    """Frames [start, stop) of a mono file, zero-padded past its end."""
    data = read_frames(path, start, stop)[0]
    return np.pad(data, (0, stop - start - data.size)) if data.size < stop - start else data


def to_master_rate(restored: Path, model_input: Path, source: Path, out: Path, *,
                   chunk_s: float = 30.0) -> float | None:
    """Write ``restored`` (mono, model's rate) at ``source``'s rate to ``out``, keeping ``source``'s band
    above the model's Nyquist frequency; return that frequency (Hz), or None when ``source``'s rate is not
    above the model's.

    ``model_input`` is what the model was given: ``source`` (mono, master rate) resampled
    down to the model's rate. Resampling it back up gives exactly the part of ``source``
    the model could see, so ``source − up(model_input)`` is the part it could not, the band
    above its Nyquist frequency, which the model neither restored nor removed:
    ``out = up(restored) + source − up(model_input)``. Where the model changes nothing the
    output is the source; its length is the source's. Read and written a chunk at a time.
    """
    info, model_info = probe(source), probe(restored)
    if info.channels != 1 or model_info.channels != 1:
        raise ParameterError("to_master_rate takes mono files")
    if probe(model_input).sample_rate != model_info.sample_rate:
        raise ParameterError("the model's input and its restoration must share the model's rate")
    if info.sample_rate <= model_info.sample_rate:
        resample_file(restored, out, info.sample_rate)
        return None
    up_restored = out.with_name(f"{out.stem}_restored_up.wav")
    up_input = out.with_name(f"{out.stem}_input_up.wav")
    try:
        resample_file(restored, up_restored, info.sample_rate)
        resample_file(model_input, up_input, info.sample_rate)
        step = chunk_frames_for(1, chunk_s, info.sample_rate)
        with AudioStreamWriter(out, info.sample_rate, 1) as writer:
            for start in range(0, info.frames, step):
                stop = min(info.frames, start + step)
                kept = _mono_frames(source, start, stop) - _mono_frames(up_input, start, stop)
                writer.write((_mono_frames(up_restored, start, stop) + kept)[None, :])
    finally:
        up_restored.unlink(missing_ok=True)
        up_input.unlink(missing_ok=True)
    return model_info.sample_rate / 2.0
