"""LTAS and LTAS-EQ as the BABE-2 reference computes them (centred frames, stored reference level)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp.ltas import Ltas, third_octave_smooth
from shellac.engine.errors import ParameterError


def _frames(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Centred (reflect-padded) STFT with a Hann window of n_fft/2 samples, hop n_fft/4."""
    win = n_fft // 2
    return torch.stft(x, n_fft=n_fft, hop_length=n_fft // 4, win_length=win,
                      window=torch.hann_window(win, dtype=x.dtype), center=True, return_complex=True)


def reference_ltas(audio: np.ndarray, n_fft: int) -> np.ndarray:
    """LTAS of mono ``audio`` as the reference computes it for LTAS-EQ.

    The recording is scaled to unit std (torch's unbiased std), framed with
    centred, reflect-padded frames, and each frame's |X|² is divided by Σw;
    the result is the mean over frames on the n_fft/2 + 1 bins.
    """
    x = torch.as_tensor(np.asarray(audio, dtype=np.float64))
    if x.ndim != 1:
        raise ParameterError(f"reference LTAS needs mono audio [T], got shape {tuple(x.shape)}")
    std = float(x.std())
    if not std > 0:
        raise ParameterError("audio is silent: no spectrum to estimate")
    spec = _frames(x / std, n_fft) / torch.sqrt(torch.hann_window(n_fft // 2, dtype=x.dtype).sum())
    return (spec.abs() ** 2).mean(dim=-1).numpy()


def reference_ltas_eq(
    audio: np.ndarray,
    sample_rate: int,
    reference_power: np.ndarray,
    *,
    n_fft: int,
    max_boost_db: float = 20.0,
) -> tuple[np.ndarray, np.ndarray]:
    """LTAS-EQ of mono ``audio`` towards ``reference_power`` exactly as the reference applies it.

    ``reference_power`` is used at its stored level (e.g. a published
    checkpoint's ``LTAS``, not renormalised), so the −``max_boost_db`` floor acts
    where that level puts it. Both curves are third-octave smoothed; the
    recording's STFT (centred frames) is divided by 10^(diff/20), inverted and
    rescaled to the input's (unbiased) std.

    Returns
    -------
    equalised, diff_db
        The equalised signal (float64, same length) and the applied difference
        curve in dB on the n_fft/2 + 1 bins.
    """
    ref = np.asarray(reference_power, dtype=np.float64).reshape(-1)
    if ref.size != n_fft // 2 + 1:
        raise ParameterError(f"reference LTAS has {ref.size} bins, expected {n_fft // 2 + 1} (n_fft {n_fft})")
    ltas_y = reference_ltas(audio, n_fft)
    diff = 10.0 * np.log10(third_octave_smooth(ltas_y, sample_rate, n_fft)) - 10.0 * np.log10(
        third_octave_smooth(ref, sample_rate, n_fft))
    diff = np.maximum(diff, -max_boost_db)
    x = torch.as_tensor(np.asarray(audio, dtype=np.float64))
    spec = _frames(x, n_fft) / torch.as_tensor(10.0 ** (diff / 20.0))[:, None]
    win = n_fft // 2
    out = torch.istft(spec, n_fft=n_fft, hop_length=n_fft // 4, win_length=win,
                      window=torch.hann_window(win, dtype=x.dtype), length=x.shape[-1])
    return (float(x.std()) * out / out.std()).numpy(), diff


def reference_ltas_eq_file(in_path: Path, out_path: Path, reference: Ltas, *, n_fft: int,
                           max_boost_db: float = 20.0) -> tuple[np.ndarray, Ltas]:
    """:func:`reference_ltas_eq` of each channel of a file, the whole file in memory.

    The reference handles mono; each channel is equalised on its own against
    ``reference`` at its stored level. Returns the channels' mean difference
    curve (dB) and the reference-style LTAS of the channel mean.
    """
    audio, sr = read_audio(in_path)
    x = audio.astype(np.float64)
    power = reference.on_bins(sr, n_fft) * reference.stored_scale
    eq = [reference_ltas_eq(ch, sr, power, n_fft=n_fft, max_boost_db=max_boost_db) for ch in x]
    write_audio(out_path, np.stack([out for out, _ in eq]), sr)
    diff_db = np.mean([diff for _, diff in eq], axis=0)
    return diff_db, Ltas(sr, n_fft, reference_ltas(x.mean(axis=0), n_fft))
