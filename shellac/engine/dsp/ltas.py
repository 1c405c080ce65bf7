"""Long-term average spectrum (LTAS), third-octave smoothing and LTAS equalisation (BABE-2)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import get_window, istft, stft

from shellac.engine.audio_io import probe, read_audio
from shellac.engine.dsp.resample import resample
from shellac.engine.errors import AudioLoadError, ParameterError
from shellac.engine.stream import ChannelStats, iter_chunks, map_file, read_frames

_EPS = 1e-12
# A signal this quiet (std) is treated as silence: equalising it would amplify nothing but dither.
SILENCE_STD = 1e-6


@dataclass(frozen=True)
class Ltas:
    """A power spectrum averaged over frames, on the rFFT bins of ``n_fft`` at ``sample_rate``."""

    sample_rate: int
    n_fft: int
    power: np.ndarray
    stored_scale: float = 1.0
    """Factor from ``power`` back to the level it was stored at (e.g. in a published checkpoint)."""
    spread_db: np.ndarray | None = None
    """Per bin, how much the sources of a many-source reference disagree (std of their dB levels, each
    source's mid band aligned); None for a single-source LTAS."""
    shape_basis_db: np.ndarray | None = None
    """(components, bins): principal directions, dB, in which single recordings depart from this
    reference (mid band aligned), each row one standard deviation; None if not built."""

    def __post_init__(self) -> None:
        if self.power.shape != (self.n_fft // 2 + 1,):
            raise ParameterError(
                f"LTAS has {self.power.shape} bins, expected {self.n_fft // 2 + 1} for n_fft {self.n_fft}"
            )
        if self.spread_db is not None and self.spread_db.shape != self.power.shape:
            raise ParameterError(f"LTAS spread has {self.spread_db.shape} bins, its power {self.power.shape}")
        if self.shape_basis_db is not None and (self.shape_basis_db.ndim != 2
                                                or self.shape_basis_db.shape[1] != self.power.size):
            raise ParameterError(f"LTAS shape basis is {self.shape_basis_db.shape}, expected (components, "
                                 f"{self.power.size})")

    @property
    def freqs_hz(self) -> np.ndarray:
        """Centre frequency of each bin in Hz."""
        return np.fft.rfftfreq(self.n_fft, d=1.0 / self.sample_rate)

    def db(self) -> np.ndarray:
        """Power in dB (10 log10)."""
        return 10.0 * np.log10(self.power + _EPS)

    def stored_power(self) -> np.ndarray:
        """The power at its stored level (what the BABE-2 reference compares against)."""
        return self.power * self.stored_scale

    def to_json_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict (the format stored in model bundles and reference files)."""
        data: dict[str, object] = {
            "sample_rate": int(self.sample_rate),
            "n_fft": int(self.n_fft),
            "power": [float(p) for p in self.power],
        }
        if self.stored_scale != 1.0:  # absent when 1, so older files and checksums stay as they were
            data["stored_scale"] = float(self.stored_scale)
        if self.spread_db is not None:  # likewise absent for a single-source LTAS
            data["spread_db"] = [float(v) for v in self.spread_db]
        if self.shape_basis_db is not None:  # likewise absent unless built from single recordings
            data["shape_basis_db"] = [[float(v) for v in row] for row in self.shape_basis_db]
        return data

    @classmethod
    def from_json_dict(cls, data: dict[str, object]) -> Ltas:
        """Build from :meth:`to_json_dict` output."""
        try:
            return cls(
                sample_rate=int(data["sample_rate"]),  # type: ignore[arg-type]
                n_fft=int(data["n_fft"]),  # type: ignore[arg-type]
                power=np.asarray(data["power"], dtype=np.float64),
                stored_scale=float(data.get("stored_scale", 1.0)),  # type: ignore[arg-type]
                spread_db=(None if data.get("spread_db") is None
                           else np.asarray(data["spread_db"], dtype=np.float64)),
                shape_basis_db=(None if data.get("shape_basis_db") is None
                                else np.asarray(data["shape_basis_db"], dtype=np.float64)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ParameterError(f"malformed LTAS data: {exc}") from exc

    def on_bins(self, sample_rate: int, n_fft: int) -> np.ndarray:
        """Power interpolated (in dB, over linear frequency) onto another bin grid.

        Above this LTAS's Nyquist frequency the last value is held.
        """
        if sample_rate == self.sample_rate and n_fft == self.n_fft:
            return self.power
        target = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
        db = np.interp(target, self.freqs_hz, self.db())
        return 10.0 ** (db / 10.0)

    def spread_on_bins(self, sample_rate: int, n_fft: int) -> np.ndarray | None:
        """:attr:`spread_db` interpolated over linear frequency onto another bin grid (None if absent)."""
        if self.spread_db is None:
            return None
        return np.interp(np.fft.rfftfreq(n_fft, d=1.0 / sample_rate), self.freqs_hz, self.spread_db)

    def shape_basis_on_bins(self, sample_rate: int, n_fft: int) -> np.ndarray | None:
        """:attr:`shape_basis_db`, row by row, interpolated over linear frequency onto another bin grid."""
        if self.shape_basis_db is None:
            return None
        target = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
        return np.array([np.interp(target, self.freqs_hz, row) for row in self.shape_basis_db])


def _stft_setup(n_fft: int) -> dict[str, object]:
    # BABE-2: Hann window of n_fft/2 samples, zero-padded to n_fft, hop n_fft/4 (50 % overlap).
    return {"window": "hann", "nperseg": n_fft // 2, "noverlap": n_fft // 4, "nfft": n_fft}


def compute_ltas(audio: np.ndarray, sample_rate: int, n_fft: int) -> Ltas:
    """LTAS of (channels, frames) or (frames,) audio, after normalising to unit std.

    Multichannel audio is averaged to mono first. Frames are scaled by 1/Σw
    (scipy's "spectrum" scaling), so unit-std white noise gives Σw²/(Σw)² per
    bin; only differences between LTAS curves matter to the EQ. Raises
    ``ParameterError`` for silence, where no spectrum can be estimated.
    """
    mono = np.asarray(audio, dtype=np.float64)
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    std = float(mono.std())
    if std < SILENCE_STD:
        raise ParameterError("audio is silent (std below 1e-6): no spectrum to estimate")
    if mono.shape[-1] < n_fft // 2:
        raise ParameterError(
            f"audio has {mono.shape[-1]} samples, fewer than one analysis window ({n_fft // 2})"
        )
    power = np.mean(frame_spectra(mono / std, sample_rate, n_fft), axis=-1)
    return Ltas(sample_rate=int(sample_rate), n_fft=int(n_fft), power=power)


def frame_spectra(mono: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    """|X|² of every analysis frame of mono audio, (bins, frames), in the LTAS's framing and scaling."""
    _, _, spec = stft(mono, fs=sample_rate, boundary=None, padded=False, **_stft_setup(n_fft))
    return np.abs(spec) ** 2


def unit_variance_total(n_fft: int) -> float:
    """Expected two-sided power sum of one analysis frame of any unit-variance signal.

    By Parseval, Σ_k |X_k|² = n_fft·Σ_n (w_n x_n)² / (Σw)² for the "spectrum"
    scaling used here, whose expectation for unit variance is n_fft·Σw²/(Σw)²,
    whatever the spectrum's shape.
    """
    window = get_window("hann", n_fft // 2)
    return float(n_fft * np.sum(window**2) / np.sum(window) ** 2)


def calibrate_power(power: np.ndarray, n_fft: int) -> np.ndarray:
    """Rescale a one-sided LTAS from another convention so it reads as one of unit-variance audio.

    Imported curves (e.g. from published checkpoints) may use other window
    scalings; only their shape carries information, so the level is set by the
    Parseval identity of :func:`unit_variance_total`.
    """
    weights = np.full(power.shape, 2.0)
    weights[0] = weights[-1] = 1.0
    total = float(np.sum(weights * power))
    if not total > 0:
        raise ParameterError("LTAS has no positive power to calibrate")
    return np.asarray(power, dtype=np.float64) * unit_variance_total(n_fft) / total


def ltas_from_files(paths: Iterable[Path], sample_rate: int, n_fft: int) -> Ltas:
    """Reference LTAS: the mean of the per-file LTAS of clean recordings, resampled to ``sample_rate``."""
    curves = []
    for path in paths:
        audio, sr = read_audio(Path(path))
        curves.append(compute_ltas(resample(audio, sr, sample_rate), sample_rate, n_fft).power)
    if not curves:
        raise AudioLoadError("no reference audio files given for the LTAS")
    return Ltas(sample_rate=int(sample_rate), n_fft=int(n_fft), power=np.mean(curves, axis=0))


def third_octave_smooth(power: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    """Smooth a power spectrum with a Gaussian in linear frequency of width σ_f = F/(3π) at bin F.

    The width grows with frequency, giving roughly third-octave resolution.
    Every bin (DC included) contributes to every smoothed bin, as in the
    BABE-2 reference: the Gaussian is not truncated, so a strong partial
    still lifts bins many widths away by its (tiny) tail. Bin 0 (DC) is left
    as it is.
    """
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    p = np.asarray(power, dtype=np.float64)
    out = np.array(p, copy=True)
    # Rows of the (bins × bins) weight matrix a block at a time: exact, memory bounded.
    rows = 256
    for start in range(1, freqs.size, rows):
        centre = freqs[start:start + rows, None]
        w = np.exp(-0.5 * ((freqs[None, :] - centre) / (centre / (3.0 * np.pi))) ** 2)
        out[start:start + rows] = (w @ p) / w.sum(axis=1)
    return out


def ltas_eq_gain_db(
    observed: Ltas, reference: Ltas, *, max_boost_db: float = 20.0, smooth: bool = True
) -> np.ndarray:
    """The LTAS-EQ difference curve diff_dB = max(LTAS_y − LTAS_ref, −max_boost_db) on the observed bins.

    Dividing the observation's STFT by 10^(diff/20) moves its LTAS onto the
    reference's; the floor limits any boost to ``max_boost_db``.
    """
    ref_power = reference.on_bins(observed.sample_rate, observed.n_fft)
    obs_power = observed.power
    if smooth:
        obs_power = third_octave_smooth(obs_power, observed.sample_rate, observed.n_fft)
        ref_power = third_octave_smooth(ref_power, observed.sample_rate, observed.n_fft)
    diff = 10.0 * np.log10(obs_power + _EPS) - 10.0 * np.log10(ref_power + _EPS)
    return np.maximum(diff, -max_boost_db)


def apply_eq_db(audio: np.ndarray, sample_rate: int, n_fft: int, diff_db: np.ndarray) -> np.ndarray:
    """Divide the STFT of each channel by 10^(diff_db/20), invert, and restore each channel's std."""
    x = np.asarray(audio, dtype=np.float64)
    squeeze = x.ndim == 1
    x2 = x[None, :] if squeeze else x
    gain = 10.0 ** (-np.asarray(diff_db) / 20.0)
    out = np.empty_like(x2)
    n = x2.shape[-1]
    for c in range(x2.shape[0]):
        _, _, spec = stft(x2[c], fs=sample_rate, **_stft_setup(n_fft))
        _, y = istft(spec * gain[:, None], fs=sample_rate, **_stft_setup(n_fft))
        y = y[:n]
        if y.shape[-1] < n:
            y = np.pad(y, (0, n - y.shape[-1]))
        in_std, out_std = x2[c].std(), y.std()
        out[c] = y * (in_std / out_std) if out_std > 0 else y
    out32 = out.astype(np.float32)
    return out32[0] if squeeze else out32


def ltas_equalize(
    audio: np.ndarray,
    sample_rate: int,
    reference: Ltas,
    *,
    n_fft: int,
    max_boost_db: float = 20.0,
    smooth: bool = True,
) -> tuple[np.ndarray, np.ndarray, Ltas]:
    """LTAS-EQ (BABE-2): equalise ``audio`` so its long-term spectrum matches ``reference``.

    Returns
    -------
    equalized, diff_db, observed
        The equalised (channels, frames) audio, the applied difference curve in dB
        on the ``n_fft`` bins, and the observed LTAS.
    """
    observed = compute_ltas(audio, sample_rate, n_fft)
    diff_db = ltas_eq_gain_db(observed, reference, max_boost_db=max_boost_db, smooth=smooth)
    return apply_eq_db(audio, sample_rate, n_fft, diff_db), diff_db, observed


def ltas_of_file(path: Path, n_fft: int, *, frames_per_chunk: int = 4096,
                 frames_per_batch: int = 256) -> Ltas:
    """:func:`compute_ltas` of a file, read chunk by chunk (same frames, same result).

    Chunks are cut on the hop grid and overlap by one window less one hop, so
    every analysis frame of the one-shot computation is seen exactly once. A
    chunk's frames are transformed ``frames_per_batch`` at a time, so memory
    holds the spectrogram of one batch, not of the chunk (or of a whole short
    file); the batch size does not change the result.
    """
    info = probe(Path(path))
    win, hop = n_fft // 2, n_fft // 4
    power = np.zeros(n_fft // 2 + 1)
    n_frames = 0
    stats = ChannelStats()
    step = frames_per_chunk * hop
    for start in range(0, info.frames, step):
        mono = read_frames(Path(path), start, min(info.frames, start + step + win - hop)).mean(
            axis=0, dtype=np.float64)
        stats.update(mono[None, : min(step, mono.size)])
        chunk_power, chunk_frames = _frame_power(mono, info.sample_rate, n_fft, frames_per_batch)
        power += chunk_power
        n_frames += chunk_frames
        del mono  # before the next chunk is read, so two chunks are never held at once
    std = float(stats.std[0]) if stats.count else 0.0
    if std < SILENCE_STD:
        raise ParameterError("audio is silent (std below 1e-6): no spectrum to estimate")
    if n_frames == 0:
        raise ParameterError(f"audio has {info.frames} samples, fewer than one analysis window ({win})")
    return Ltas(sample_rate=info.sample_rate, n_fft=int(n_fft), power=power / n_frames / std**2)


def _frame_power(mono: np.ndarray, sample_rate: int, n_fft: int,
                 frames_per_batch: int) -> tuple[np.ndarray, int]:
    """Power of every analysis frame of ``mono`` summed per bin, and the number of frames."""
    win, hop = n_fft // 2, n_fft // 4
    power = np.zeros(n_fft // 2 + 1)
    n_frames = 0
    for first in range(0, mono.size - win + 1, frames_per_batch * hop):
        batch = mono[first:first + (frames_per_batch - 1) * hop + win]
        _, _, spec = stft(batch, fs=sample_rate, boundary=None, padded=False, **_stft_setup(n_fft))
        # Frame by frame, in order: the same sums, to the bit, as one sum over all of mono's frames.
        for frame_power in (np.abs(spec) ** 2).T:
            power += frame_power
        n_frames += spec.shape[-1]
    return power, n_frames


def ltas_equalize_file(
    in_path: Path,
    out_path: Path,
    reference: Ltas,
    *,
    n_fft: int,
    max_boost_db: float = 20.0,
    smooth: bool = True,
    chunk_s: float = 30.0,
) -> tuple[np.ndarray, Ltas]:
    """:func:`ltas_equalize` from file to file with memory bounded by the chunk size.

    Chunks start on the STFT hop grid with a margin of two windows, so each
    kept sample sees the same frames as in a one-shot run; a second pass
    restores each channel's std exactly. Returns the applied diff curve (dB)
    and the observed LTAS.
    """
    observed = ltas_of_file(in_path, n_fft)
    diff_db = ltas_eq_gain_db(observed, reference, max_boost_db=max_boost_db, smooth=smooth)
    equalize_file_db(in_path, out_path, diff_db, n_fft=n_fft, chunk_s=chunk_s)
    return diff_db, observed


def equalize_file_db(in_path: Path, out_path: Path, diff_db: np.ndarray, *, n_fft: int,
                     chunk_s: float = 30.0) -> None:
    """:func:`apply_eq_db` from file to file (divide by 10^(diff_db/20)), memory bounded by the chunk.

    Chunks start on the STFT hop grid with a margin of two windows, so each kept
    sample sees the same frames as in a one-shot run; a second pass restores each
    channel's std exactly.
    """
    info = probe(Path(in_path))
    hop = n_fft // 4
    in_stats = ChannelStats()
    unscaled = Path(out_path).with_name(f".{Path(out_path).stem}.unscaled.wav")

    def equalise(chunk):  # type: ignore[no-untyped-def]
        in_stats.update(chunk.centre(chunk.data))
        return chunk.centre(_apply_gain(chunk.data, info.sample_rate, n_fft, diff_db))

    try:
        out_stats = _map_aligned(in_path, unscaled, equalise, chunk_s, 2 * n_fft, hop)
        scale = np.where(out_stats.std > 0, in_stats.std / np.maximum(out_stats.std, 1e-30), 1.0)
        map_file(unscaled, out_path, lambda c: c.data * scale[:, None], chunk_s=chunk_s)
    finally:
        unscaled.unlink(missing_ok=True)


def _map_aligned(in_path, out_path, fn, chunk_s, margin, align):  # type: ignore[no-untyped-def]
    from shellac.engine.stream import AudioStreamWriter, chunk_frames_for

    info = probe(Path(in_path))
    frames = chunk_frames_for(info.channels, chunk_s, info.sample_rate)
    with AudioStreamWriter(Path(out_path), info.sample_rate, info.channels) as writer:
        for chunk in iter_chunks(Path(in_path), frames, margin, align=align):
            writer.write(fn(chunk))
    return writer.stats


def _apply_gain(x: np.ndarray, sample_rate: int, n_fft: int, diff_db: np.ndarray) -> np.ndarray:
    """Divide each channel's STFT by 10^(diff_db/20) and invert (no std restore)."""
    gain = 10.0 ** (-np.asarray(diff_db) / 20.0)
    out = np.empty(x.shape, dtype=np.float64)
    n = x.shape[-1]
    for c in range(x.shape[0]):
        _, _, spec = stft(x[c].astype(np.float64), fs=sample_rate, **_stft_setup(n_fft))
        _, y = istft(spec * gain[:, None], fs=sample_rate, **_stft_setup(n_fft))
        out[c] = np.pad(y[:n], (0, max(0, n - y[:n].shape[-1])))
    return out
