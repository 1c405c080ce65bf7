"""Octave-wise constant-Q transform (NSGT with Kaiser windows) and its inverse, in torch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from shellac.engine.errors import ParameterError

# Shortest frequency window allowed (bins), as in the NSGT design BABE-2 used.
_MIN_WINDOW_BINS = 4
# The top band is centred this far (Hz) below Nyquist so that it is not Nyquist itself.
_NYQUIST_GUARD_HZ = 1e-6


def _next_power_of_two(n: int) -> int:
    return 1 if n <= 1 else 2 ** math.ceil(math.log2(n))


def kaiser_bump(length: int, beta: float) -> np.ndarray:
    """Frequency window of the transform, in zero-centred (FFT) order.

    Parameters
    ----------
    length : int
        Window length in frequency bins.
    beta : float
        Kaiser shape parameter (BABE-2 uses 1.0: an almost flat bump).

    Returns
    -------
    numpy.ndarray
        ``length`` float64 values; index ``i`` is the offset ``i`` from the centre bin,
        wrapping round for negative offsets. The peak is 0.5 at offset 0.
    """
    offsets = np.arange(length) - length // 2
    return np.i0(beta * np.abs(np.sin(np.pi * offsets / length))) / (2.0 * np.i0(beta))


@dataclass(frozen=True)
class CQTDesign:
    """Frequency layout of the transform, in rFFT bins of a ``length``-sample signal.

    ``centres`` / ``windows`` / ``frame_weights`` cover the whole two-sided spectrum
    (DC, the constant-Q bands, Nyquist, then the mirrored bands), because the dual
    windows are computed from the full frame operator. Only the constant-Q bands
    (indices 1 .. num_bands) carry coefficients.
    """

    length: int
    num_octaves: int
    bins_per_octave: int
    centre_frequencies_hz: np.ndarray  # (num_bands,) analysis centre of each kept band
    centres: np.ndarray  # (2 * num_bands + 2,) int centre bins, two-sided
    windows: tuple[np.ndarray, ...]  # analysis windows, zero-centred order
    frame_weights: np.ndarray  # (2 * num_bands + 2,) time size each band is counted with
    duals: tuple[np.ndarray, ...]  # canonical dual windows, same layout as `windows`
    time_sizes: tuple[int, ...]  # coefficients per band, per octave, lowest octave first

    @property
    def num_bands(self) -> int:
        return self.num_octaves * self.bins_per_octave


def design_octave_cqt(
    sample_rate: float, num_octaves: int, bins_per_octave: int, length: int, beta: float = 1.0
) -> CQTDesign:
    """Lay out the octave-wise NSGT used by BABE-2's CQTdiff+ network.

    Bands are log-spaced from ``fs/2 / 2**num_octaves`` up to just below Nyquist
    (``fs/2``); each octave's time axis is rounded up to a power of two. The numbers
    follow the published design so that a network trained on it sees the same
    coefficients.

    Parameters
    ----------
    sample_rate : float
        Sampling rate in Hz.
    num_octaves, bins_per_octave : int
        Octaves covered below Nyquist and bands per octave.
    length : int
        Signal length in samples the transform is built for.
    beta : float
        Kaiser window shape parameter.

    Returns
    -------
    CQTDesign

    Raises
    ------
    ParameterError
        If the numbers give an impossible layout (too short a signal for the lowest band).
    """
    if num_octaves < 1 or bins_per_octave < 2 or length < 16 or sample_rate <= 0:
        raise ParameterError(
            f"bad CQT layout: {num_octaves} octaves x {bins_per_octave} bins, "
            f"{length} samples at {sample_rate} Hz"
        )
    n_bands = num_octaves * bins_per_octave
    # Log-spaced centres (Hz); arithmetic kept in the same order as the published design.
    f_top = sample_rate / 2 - _NYQUIST_GUARD_HZ
    f_low = f_top / 2**num_octaves
    log_step = (np.log2(f_top) - np.log2(f_low)) / (n_bands - 1)
    ratio = 2**log_step
    centres_hz = np.array([2 ** np.log2(f_low) * ratio**k for k in range(n_bands)])
    q_factor = np.sqrt(ratio) / (ratio - 1.0) / 2.0

    # Two-sided centre positions in bins: DC, bands, Nyquist, mirrored bands.
    one_sided = np.concatenate(([0.0], centres_hz, [sample_rate / 2.0]))
    positions = np.concatenate((one_sided, sample_rate - one_sided[-2:0:-1]))
    positions *= float(length) / sample_rate

    # Window lengths: the DC band reaches the first centre, the first band follows its Q,
    # every other band spans its two neighbours; Nyquist copies the top band.
    widths = np.zeros(positions.shape, dtype=np.float64)
    widths[0] = np.round(2 * positions[1])
    widths[1] = np.round(positions[1] / q_factor)
    for k in range(2, n_bands + 1):
        widths[k] = np.round(positions[k + 1] - positions[k - 1])
    widths[n_bands + 1] = widths[n_bands]
    widths[n_bands + 2 :] = widths[n_bands:0:-1]
    widths = np.maximum(widths, _MIN_WINDOW_BINS).astype(np.int64)
    windows = tuple(kaiser_bump(int(w), beta) for w in widths)

    # The top band is recentred halfway between its lower neighbour and Nyquist.
    positions[n_bands] = (positions[n_bands - 1] + positions[n_bands + 1]) / 2
    positions[n_bands + 2] = length - positions[n_bands]
    centres = np.round(positions).astype(np.int64)

    # Each octave's coefficient count is the next power of two of its widest window.
    frame_weights = widths.astype(np.float64).copy()
    time_sizes = []
    n_full = 2 * n_bands + 2
    for octave in range(num_octaves):
        first = 1 + octave * bins_per_octave
        size = _next_power_of_two(int(widths[first : first + bins_per_octave].max()))
        time_sizes.append(size)
        frame_weights[first : first + bins_per_octave] = size
        # The published design writes the mirrored octave one band towards Nyquist
        # (so the Nyquist band takes the top octave's size and the mirror of band 0
        # keeps its own width). Kept as is: it shapes the frame operator near Nyquist
        # and therefore the dual windows the published network was trained with.
        stop = n_full - first
        frame_weights[stop - bins_per_octave : stop] = size

    # Diagonal of the frame operator, accumulated on the whole FFT grid.
    diagonal = np.zeros(length, dtype=np.float64)
    for centre, window, weight in zip(centres, windows, frame_weights, strict=True):
        offsets = _offsets(len(window))
        np.add.at(diagonal, (centre + offsets) % length, weight * window[offsets] ** 2)
    duals = tuple(
        window / _zero_centred(diagonal, int(centre), len(window))
        for centre, window in zip(centres, windows, strict=True)
    )

    for k in range(1, n_bands + 1):
        bins = centres[k] + _offsets(len(windows[k]))
        if bins.min() < 0 or bins.max() > length // 2:
            raise ParameterError(
                f"CQT band {k} reaches outside 0..Nyquist; use more samples ({length} given)"
            )
    return CQTDesign(
        length=length,
        num_octaves=num_octaves,
        bins_per_octave=bins_per_octave,
        centre_frequencies_hz=centres_hz,
        centres=centres,
        windows=windows,
        frame_weights=frame_weights,
        duals=duals,
        time_sizes=tuple(time_sizes),
    )


def _offsets(width: int) -> np.ndarray:
    """Bin offsets from the centre covered by a window, in zero-centred order."""
    return np.concatenate((np.arange(0, (width + 1) // 2), np.arange(-(width // 2), 0)))


def _zero_centred(values: np.ndarray, centre: int, width: int) -> np.ndarray:
    """Values of a full-spectrum array around ``centre``, in zero-centred window order."""
    return values[(centre + _offsets(width)) % len(values)]


class OctaveCQT(nn.Module):
    """Octave-wise constant-Q transform of fixed-length real signals, and its inverse.

    ``forward`` returns one complex tensor per octave, lowest octave first, each
    ``[..., bins_per_octave, time_size]`` with ``time_size`` a power of two.
    ``inverse`` maps such a list back to ``length`` samples.

    What is reconstructed: ``inverse(forward(x))`` equals ``band_complement(x)``
    to rounding, i.e. ``x`` filtered by the zero-phase gain ``passband``. That gain is
    exactly 1 from the lowest band centre, ``fs / 2**(num_octaves + 1)`` Hz (86.1 Hz
    for both BABE-2 presets), up to where the Nyquist band starts to overlap the top
    band (10.97 kHz piano, 21.81 kHz voice); it falls to 0 within about one rFFT bin
    below the lowest centre (the DC band is dropped) and to about 0.38 at the bins
    next to Nyquist (the Nyquist band is dropped). The tables are non-persistent
    buffers, so the module adds nothing to a state dict.

    Parameters
    ----------
    sample_rate : float
        Sampling rate in Hz.
    num_octaves, bins_per_octave : int
        Layout of the constant-Q bands below Nyquist.
    length : int
        Signal length in samples (inputs must have exactly this length).
    beta : float
        Kaiser window shape parameter.
    """

    def __init__(
        self,
        sample_rate: float,
        num_octaves: int,
        bins_per_octave: int,
        length: int,
        beta: float = 1.0,
    ) -> None:
        super().__init__()
        design = design_octave_cqt(sample_rate, num_octaves, bins_per_octave, length, beta)
        self.sample_rate = float(sample_rate)
        self.length = length
        self.num_octaves = num_octaves
        self.bins_per_octave = bins_per_octave
        self.time_sizes = design.time_sizes
        self.centre_frequencies_hz = design.centre_frequencies_hz
        n_rfft = length // 2 + 1
        passband = np.zeros(n_rfft, dtype=np.float64)
        for octave, size in enumerate(design.time_sizes):
            index = np.zeros((bins_per_octave, size), dtype=np.int64)
            analysis = np.zeros((bins_per_octave, size), dtype=np.float64)
            synthesis = np.zeros((bins_per_octave, size), dtype=np.float64)
            for row in range(bins_per_octave):
                band = 1 + octave * bins_per_octave + row
                window, dual = design.windows[band], design.duals[band]
                offsets = _offsets(len(window))
                slots = offsets % size
                index[row, slots] = design.centres[band] + offsets
                analysis[row, slots] = window[offsets]
                # The FFT of the coefficients is the windowed spectrum scaled by 1/size.
                synthesis[row, slots] = dual[offsets] * size
                np.add.at(passband, index[row, slots], window[offsets] * dual[offsets] * size)
            self.register_buffer(f"index_{octave}", torch.from_numpy(index), persistent=False)
            self.register_buffer(f"analysis_{octave}", torch.from_numpy(analysis), persistent=False)
            self.register_buffer(f"synthesis_{octave}", torch.from_numpy(synthesis), persistent=False)
        self.register_buffer("passband", torch.from_numpy(passband), persistent=False)

    def _tables(self, octave: int) -> tuple[Tensor, Tensor, Tensor]:
        return (
            getattr(self, f"index_{octave}"),
            getattr(self, f"analysis_{octave}"),
            getattr(self, f"synthesis_{octave}"),
        )

    def _check_length(self, x: Tensor) -> None:
        if x.shape[-1] != self.length:
            raise ParameterError(f"the CQT was built for {self.length} samples, got {x.shape[-1]}")

    def forward(self, x: Tensor) -> list[Tensor]:
        """Analyse real signals ``[..., length]`` into complex octave tensors.

        Returns
        -------
        list of Tensor
            ``num_octaves`` complex tensors ``[..., bins_per_octave, time_size]``,
            lowest octave first.
        """
        self._check_length(x)
        spectrum = torch.fft.rfft(x)
        octaves = []
        for octave, size in enumerate(self.time_sizes):
            index, analysis, _ = self._tables(octave)
            picked = spectrum.index_select(-1, index.reshape(-1))
            picked = picked.reshape(*x.shape[:-1], self.bins_per_octave, size)
            octaves.append(torch.fft.ifft(picked * analysis.to(x.dtype)))
        return octaves

    def inverse(self, octaves: Sequence[Tensor]) -> Tensor:
        """Synthesise real signals ``[..., length]`` from octave tensors (lowest first)."""
        if len(octaves) != self.num_octaves:
            raise ParameterError(f"expected {self.num_octaves} octaves, got {len(octaves)}")
        batch_shape = octaves[0].shape[:-2]
        spectrum = None
        for octave, coefficients in enumerate(octaves):
            index, _, synthesis = self._tables(octave)
            if coefficients.shape[-2:] != index.shape:
                raise ParameterError(
                    f"octave {octave}: expected {tuple(index.shape)} coefficients, "
                    f"got {tuple(coefficients.shape[-2:])}"
                )
            weighted = torch.fft.fft(coefficients) * synthesis.to(coefficients.real.dtype)
            if spectrum is None:
                spectrum = weighted.new_zeros(*batch_shape, self.length // 2 + 1)
            spectrum = spectrum.index_add(-1, index.reshape(-1), weighted.reshape(*batch_shape, -1))
        return torch.fft.irfft(spectrum, n=self.length)

    def band_complement(self, x: Tensor) -> Tensor:
        """Keep exactly the part of ``x`` the transform represents (drop DC and Nyquist bands).

        This is the filter BABE-2 applies to each denoiser output. It is zero-phase,
        applied by FFT on ``[..., length]`` signals.
        """
        self._check_length(x)
        gain = self.passband.to(x.dtype)
        return torch.fft.irfft(torch.fft.rfft(x) * gain, n=self.length)


def complex_to_channels(coefficients: Tensor) -> Tensor:
    """``[B, F, T]`` complex -> ``[B, 2, F, T]`` real (real part, imaginary part)."""
    return torch.view_as_real(coefficients).permute(0, 3, 1, 2).contiguous()


def channels_to_complex(channels: Tensor) -> Tensor:
    """``[B, 2, F, T]`` real -> ``[B, F, T]`` complex; inverse of :func:`complex_to_channels`."""
    return torch.view_as_complex(channels.permute(0, 2, 3, 1).contiguous())
