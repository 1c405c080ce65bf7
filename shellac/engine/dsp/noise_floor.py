"""The hiss floor per frequency by minimum statistics, and a noise sample synthesised with that spectrum."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import istft, stft

from shellac.engine.audio_io import probe
from shellac.engine.errors import ParameterError
from shellac.engine.stream import chunk_frames_for, iter_chunks

_CALIBRATION_SEED = 0
_SYNTHESIS_SEED = 1


def _framing(n_fft: int) -> dict[str, object]:
    # The gate's own STFT (noisereduce: Hann of n_fft, hop n_fft/4).
    return {"window": "hann", "nperseg": n_fft, "noverlap": 3 * n_fft // 4}


def _frame_power(mono: np.ndarray, n_fft: int) -> np.ndarray:
    """|X|² of every frame of mono audio, (bins, frames)."""
    _, _, spec = stft(mono, boundary=None, padded=False, **_framing(n_fft))
    return np.abs(spec) ** 2


def _low_quantile(power: np.ndarray, n_fft: int, sample_rate: int, quantile: float, smooth_s: float,
                  smooth_bins: int) -> np.ndarray:
    """Per bin, the ``quantile`` over time of the power averaged over ``smooth_s`` and ``smooth_bins``."""
    frames = max(1, int(round(smooth_s * sample_rate / (n_fft // 4))))
    smoothed = uniform_filter1d(power, size=min(frames, power.shape[-1]), axis=-1, mode="nearest")
    smoothed = uniform_filter1d(smoothed, size=smooth_bins, axis=0, mode="nearest")
    return np.quantile(smoothed, quantile, axis=-1)


def noise_psd(path: Path, *, n_fft: int, quantile: float = 0.1, smooth_s: float = 0.1,
              smooth_hz: float = 100.0, chunk_s: float = 30.0) -> np.ndarray:
    """The stationary noise's power per rFFT bin of ``n_fft`` (|X|² of one Hann frame), from the recording.

    Each bin's power, averaged over ``smooth_s``, is low ``quantile`` of the time
    (the pauses of that band) and read as noise there; the same statistic of
    white noise of the same length corrects its bias exactly, so no distribution
    is assumed. Averaging over ``smooth_hz`` too narrows the spread of a band's
    power in its pauses, so that a band resting only a little longer than
    ``quantile`` of the time reads nearly its floor (its quantile is then a
    higher one of its pauses; a hiss floor is smooth in frequency). So a band
    the music fills in the quietest frames overall (a singer's low partials,
    breath under a held note) does not lift the estimate there unless it rests
    too seldom. A long file is read ``chunk_s`` at a
    time and the chunks' estimates combined by their median, so memory follows
    the chunk and a passage of louder surface noise does not set the floor.
    """
    info = probe(Path(path))
    sr = info.sample_rate
    if info.frames < 8 * n_fft:
        raise ParameterError(f"recording of {info.frames} samples is too short to estimate its noise floor "
                             f"(needs {8 * n_fft}, 8 windows of n_fft {n_fft})")
    frames = chunk_frames_for(info.channels, chunk_s, sr)
    bins = max(1, int(round(smooth_hz * n_fft / sr)))
    estimates = []
    bias: dict[int, float] = {}  # per chunk length: every full chunk shares one calibration
    for chunk in iter_chunks(Path(path), frames, align=n_fft // 4):
        mono = chunk.data.mean(axis=0, dtype=np.float64)
        if estimates and mono.size < 8 * n_fft:
            break  # a short tail: too few frames for its own estimate
        if mono.size not in bias:
            white = np.random.default_rng(_CALIBRATION_SEED).standard_normal(mono.size)
            white_power = _frame_power(white, n_fft)
            flat = _low_quantile(white_power, n_fft, sr, quantile, smooth_s, bins) / white_power.mean()
            # The white statistic is flat but for sampling noise; its median over bins is the bias.
            bias[mono.size] = float(np.median(flat[bins:-bins]))
        stat = _low_quantile(_frame_power(mono, n_fft), n_fft, sr, quantile, smooth_s, bins)
        estimates.append(stat / bias[mono.size])
    return np.median(np.array(estimates), axis=0)


def _check_bins(psd: np.ndarray, n_fft: int) -> None:
    if psd.shape != (n_fft // 2 + 1,):
        raise ParameterError(
            f"noise spectrum has {psd.shape} bins, expected {n_fft // 2 + 1} for n_fft {n_fft}")


def synthesise_noise(psd: np.ndarray, sample_rate: int, n_fft: int, seconds: float) -> np.ndarray:
    """Gaussian noise with power ``psd`` per rFFT bin of ``n_fft`` (as :func:`noise_psd` reads it), seeded."""
    _check_bins(psd, n_fft)
    n = int(round(seconds * sample_rate))
    white = np.random.default_rng(_SYNTHESIS_SEED).standard_normal(n)
    _, _, spec = stft(white, **_framing(n_fft))
    level = float(np.mean(np.abs(spec) ** 2))
    _, noise = istft(spec * np.sqrt(np.maximum(psd, 0.0) / level)[:, None], **_framing(n_fft))
    return noise[:n].astype(np.float32)


def slope_limited(psd: np.ndarray, sample_rate: int, n_fft: int, db_per_octave: float) -> np.ndarray:
    """The highest floor under ``psd`` that changes by at most ``db_per_octave`` per octave anywhere.

    A lower envelope in log frequency (a distance transform, exact in two
    passes): where the music fills a band at all times, so that no quantile of
    its time reaches the hiss, the floor there is its neighbours' plus the
    slope allowed. Bin 0 (DC) is left as it is. A hiss floor is smooth; a
    narrow noise line (hum) is cut down to its surroundings too.
    """
    _check_bins(psd, n_fft)
    if not db_per_octave > 0:
        raise ParameterError(f"the floor's slope limit must be positive, not {db_per_octave}")
    octaves = np.log2(np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)[1:])
    level = 10.0 * np.log10(np.maximum(psd[1:], 1e-30))
    for order in (range(1, level.size), range(level.size - 2, -1, -1)):
        for k in order:
            j = k - 1 if order.step == 1 else k + 1
            level[k] = min(level[k], level[j] + db_per_octave * abs(octaves[k] - octaves[j]))
    return np.concatenate([psd[:1], 10.0 ** (level / 10.0)])
