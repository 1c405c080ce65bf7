"""A fixed, offline audio embedding (log-mel frames) and the Fréchet distance between embedding sets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.signal import stft

from shellac.engine.errors import ParameterError

_LOG_FLOOR = 1e-8  # power floor after unit-RMS normalisation (−80 dB re. the signal's power)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """Triangular mel filters (HTK mel scale), shape (n_mels, n_fft//2 + 1), each summing to 1."""
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise ParameterError(f"need 0 ≤ f_min < f_max ≤ Nyquist, got {f_min}, {f_max} Hz")
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2))
    bank = np.zeros((n_mels, freqs.size))
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        rise = (freqs - lo) / (mid - lo)
        fall = (hi - freqs) / (hi - mid)
        bank[i] = np.clip(np.minimum(rise, fall), 0.0, None)
        if bank[i].sum() == 0:
            # Narrower than one bin at low frequencies: take the nearest bin.
            bank[i, np.argmin(np.abs(freqs - mid))] = 1.0
    return bank / bank.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class LogMelEmbedding:
    """Per-frame log-mel vectors of level-normalised audio: a fixed, weight-free embedding.

    Chosen because it needs no downloaded network (VGGish, CLAP and EnCodec,
    which the paper's FAD uses, are not available offline) and it responds to
    what an equaliser changes: the spectral envelope, frame by frame. Each
    signal is scaled to unit RMS first, since a restoration's gain is arbitrary.

    Attributes
    ----------
    sample_rate
        Sample rate of the audio, Hz.
    n_mels
        Dimensions of the embedding.
    window_s, hop_s
        Analysis window and hop, seconds.
    f_min, f_max
        Band covered by the mel filters, Hz (``f_max`` None: Nyquist).
    """

    sample_rate: int
    n_mels: int = 32
    window_s: float = 0.064
    hop_s: float = 0.032
    f_min: float = 50.0
    f_max: float | None = None

    @property
    def n_fft(self) -> int:
        """Window length in samples (rounded to even)."""
        return max(16, 2 * int(round(self.window_s * self.sample_rate / 2)))

    @property
    def hop(self) -> int:
        """Hop in samples."""
        return max(1, int(round(self.hop_s * self.sample_rate)))

    def frames(self, audio: np.ndarray) -> np.ndarray:
        """Embed mono ``audio``: returns (frames, n_mels) log-power values (natural log)."""
        x = np.asarray(audio, dtype=np.float64)
        if x.ndim != 1 or x.size < self.n_fft:
            raise ParameterError(f"need mono audio of at least {self.n_fft} samples, got shape {x.shape}")
        rms = float(np.sqrt(np.mean(x**2)))
        if rms == 0:
            raise ParameterError("cannot embed silence")
        _, _, spec = stft(x / rms, window="hann", nperseg=self.n_fft, noverlap=self.n_fft - self.hop,
                          boundary=None, padded=False)
        f_max = self.f_max if self.f_max is not None else self.sample_rate / 2
        bank = mel_filterbank(self.sample_rate, self.n_fft, self.n_mels, self.f_min, f_max)
        return np.log(bank @ (np.abs(spec) ** 2) + _LOG_FLOOR).T

    def embed_set(self, signals: list[np.ndarray]) -> np.ndarray:
        """Stack the frames of several signals: (total frames, n_mels)."""
        return np.concatenate([self.frames(s) for s in signals], axis=0)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two embedding sets (rows are vectors).

    FD = ‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½). Each set needs more rows
    than dimensions, or its covariance is singular and the distance meaningless.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ParameterError(f"need two (n, d) sets of one dimension, got {a.shape} and {b.shape}")
    dims = a.shape[1]
    if min(a.shape[0], b.shape[0]) < dims + 1:
        raise ParameterError(
            f"a Fréchet distance over {dims} dimensions needs at least {dims + 1} vectors per set, "
            f"got {a.shape[0]} and {b.shape[0]}: use more or longer excerpts, or fewer mel bands"
        )
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        # Near-singular product: regularise both covariances slightly (as in the FID reference code).
        eye = np.eye(dims) * 1e-6
        covmean = linalg.sqrtm((cov_a + eye) @ (cov_b + eye))
    covmean = np.real(covmean)
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean))
    # Round-off can leave a tiny negative value for identical sets.
    return max(value, 0.0)
