"""Autoregressive modelling: block-wise AR fits, prediction errors and least-squares AR interpolation."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# White-noise correction added to lag 0 of every autocorrelation: keeps Levinson
# stable on pure tones and digital silence (about -60 dB of virtual hiss).
WHITE_NOISE_CORRECTION = 1e-6


def levinson(autocorr: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Solve the Yule-Walker equations of many blocks at once (Levinson-Durbin).

    Parameters
    ----------
    autocorr
        Autocorrelations, shape (blocks, lags) with lags >= ``order + 1``; lag 0 first.
    order
        AR order ``p`` (samples).

    Returns
    -------
    coeffs, error_power
        ``coeffs`` (blocks, p) such that ``x[n] ≈ sum_k coeffs[k-1] x[n-k]``;
        ``error_power`` (blocks,) the prediction-error power of each fit.
    """
    r = np.asarray(autocorr, dtype=np.float64)[:, : order + 1].copy()
    r[:, 0] = r[:, 0] * (1.0 + WHITE_NOISE_CORRECTION) + 1e-20
    a = np.zeros((r.shape[0], order))
    err = r[:, 0].copy()
    for i in range(order):
        acc = r[:, i + 1] - np.einsum("bj,bj->b", a[:, :i], r[:, i:0:-1])
        k = acc / err
        if i:
            a[:, :i] = a[:, :i] - k[:, None] * a[:, i - 1 :: -1]
        a[:, i] = k
        err = err * (1.0 - k * k)
    return a, err


def fit_ar_blocks(x: np.ndarray, order: int, block: int) -> np.ndarray:
    """Fit one AR model per ``block``-sample block of a 1-D signal.

    Each block's model is estimated (autocorrelation method) on a Hann window
    twice the block long, centred on the block, so neighbouring models overlap
    and change smoothly.

    Returns
    -------
    np.ndarray
        Coefficients, shape (ceil(len(x) / block), order).
    """
    n_blocks = -(-x.shape[-1] // block)
    half = block // 2
    padded = np.pad(np.asarray(x, dtype=np.float64), (half, n_blocks * block - x.shape[-1] + block))
    frames = sliding_window_view(padded, 2 * block)[::block][:n_blocks] * np.hanning(2 * block)
    n_fft = 1 << int(np.ceil(np.log2(4 * block)))
    spec = np.fft.rfft(frames, n_fft, axis=1)
    autocorr = np.fft.irfft(spec.real**2 + spec.imag**2, n_fft, axis=1)[:, : order + 1]
    return levinson(autocorr, order)[0]


def prediction_error(x: np.ndarray, coeffs: np.ndarray, block: int) -> np.ndarray:
    """Forward prediction error ``e[n] = x[n] - sum_k a_k x[n-k]``, each block with its own model.

    ``coeffs`` is (blocks, p) as from :func:`fit_ar_blocks`; samples before the
    start are taken as zero.
    """
    n, p = x.shape[-1], coeffs.shape[1]
    n_blocks = coeffs.shape[0]
    padded = np.pad(np.asarray(x, dtype=np.float64), (p, n_blocks * block - n))
    frames = sliding_window_view(padded, block + p)[::block][:n_blocks]
    err = frames[:, p:].copy()
    for k in range(1, p + 1):
        err -= coeffs[:, k - 1 : k] * frames[:, p - k : p - k + block]
    return err.reshape(-1)[:n]


def backward_error(x: np.ndarray, coeffs: np.ndarray, block: int) -> np.ndarray:
    """Backward prediction error ``x[n] - sum_k a_k x[n+k]``, each block with its own model.

    The autocorrelation method gives a time-symmetric model, so the forward
    coefficients predict backwards too. A click smears the forward error over
    the ``p`` samples after it and this one over the ``p`` before it.
    """
    n = x.shape[-1]
    full = np.pad(np.asarray(x, dtype=np.float64), (0, coeffs.shape[0] * block - n))
    return prediction_error(full[::-1], coeffs[::-1], block)[::-1][:n]


def _filter_autocorr(coeffs: np.ndarray) -> np.ndarray:
    # Autocorrelation of b = [1, -a]: the entries of the LSAR normal matrix A_u^T A_u.
    b = np.concatenate([np.ones((coeffs.shape[0], 1)), -coeffs], axis=1)
    p = coeffs.shape[1]
    return np.stack([np.einsum("gj,gj->g", b[:, : p + 1 - k], b[:, k:]) for k in range(p + 1)], axis=1)


def lsar_fill(
    x: np.ndarray,
    missing: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    coeffs: np.ndarray,
) -> np.ndarray:
    """Least-squares AR interpolation of missing samples, many spans solved in batches.

    Within each span ``[starts[g], ends[g])`` the samples flagged in ``missing``
    are replaced by the values minimising the summed squared prediction error
    of the AR model ``coeffs[g]`` over every residual that involves them
    (Janssen, Veldhuis & Vries 1986; Godsill & Rayner 1998). The ``p`` samples
    either side of a span must be intact: callers merge spans closer than ``p``.

    Parameters
    ----------
    x
        1-D signal (samples); not modified.
    missing
        Boolean mask, same length: samples to re-estimate.
    starts, ends
        Span bounds in samples, shape (spans,).
    coeffs
        AR model of each span, shape (spans, p).

    Returns
    -------
    np.ndarray
        A float64 copy of ``x`` with the missing samples of every span filled.
    """
    out = np.asarray(x, dtype=np.float64).copy()
    if len(starts) == 0:
        return out
    p = coeffs.shape[1]
    lengths = np.asarray(ends) - np.asarray(starts)
    # Spans are solved in power-of-two size classes: one stacked solve per class.
    classes = np.maximum(3, np.ceil(np.log2(np.maximum(lengths, 1)))).astype(int)
    margin = p + int(2 ** classes.max())
    padded = np.pad(out, margin)
    padded_missing = np.pad(np.asarray(missing, dtype=bool), margin)
    for cls in np.unique(classes):
        idx = np.flatnonzero(classes == cls)
        size = int(2**cls)
        width = size + 2 * p
        offsets = np.asarray(starts)[idx] + margin - p
        take = offsets[:, None] + np.arange(width)
        window = padded[take]
        # Only the span itself may hold unknowns; the context around it is taken as known.
        inside = (np.arange(size)[None, :] < lengths[idx, None])
        unknown = padded_missing[take[:, p : p + size]] & inside
        known = window.copy()
        known[:, p : p + size][unknown] = 0.0
        a = coeffs[idx]
        # Residual of the zero-filled window, then A^T of it at the span's samples.
        resid = known[:, p:].copy()
        for k in range(1, p + 1):
            resid -= a[:, k - 1 : k] * known[:, p - k : width - k]
        rhs = resid[:, :size].copy()
        for k in range(1, p + 1):
            rhs -= a[:, k - 1 : k] * resid[:, k : k + size]
        r_b = _filter_autocorr(a)
        lag = np.abs(np.arange(size)[:, None] - np.arange(size)[None, :])
        normal = np.where(lag <= p, r_b[:, np.minimum(lag, p)], 0.0)
        # Known samples become identity rows, so every span keeps the class's size.
        u = unknown.astype(np.float64)
        normal = normal * u[:, :, None] * u[:, None, :] + np.eye(size)[None] * (1.0 - u)[:, :, None]
        solution = np.linalg.solve(normal, (-rhs * u)[..., None])[..., 0]
        rows, cols = np.nonzero(unknown)
        padded[take[rows, p + cols]] = solution[rows, cols]
    return padded[margin:-margin]
