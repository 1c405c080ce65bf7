"""The BABE-2 blind filter as the reference implementation designs, applies and fits it."""

from __future__ import annotations

from typing import Any

import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import FitReport
from shellac.engine.operators.blind_filter import BlindFilter, BlindFilterParams
from shellac.engine.operators.parametric import ParametricBlindFilter
from shellac.engine.operators.stft import HOP, N_BINS, N_FFT

ORDER_GAP_HZ = 1e-3
"""Gap the reference's projection keeps between adjacent breakpoints (Hz)."""


def reference_stft(x: torch.Tensor) -> torch.Tensor:
    """Complex STFT ``[B, N_BINS, frames]`` framed as the reference: N_FFT zeros appended, no centring."""
    if x.ndim != 2:
        raise ParameterError(f"expected a waveform batch [B, T], got {tuple(x.shape)}")
    window = torch.hamming_window(N_FFT, dtype=x.dtype, device=x.device)
    padded = torch.cat([x, x.new_zeros(*x.shape[:-1], N_FFT)], dim=-1)
    return torch.stft(padded, N_FFT, hop_length=HOP, window=window, center=False, return_complex=True)


def reference_istft(spec: torch.Tensor, length: int) -> torch.Tensor:
    """Inverse of :func:`reference_stft`, cut to ``length`` samples."""
    window = torch.hamming_window(N_FFT, dtype=spec.real.dtype, device=spec.device)
    return torch.istft(spec, N_FFT, hop_length=HOP, window=window, center=False)[..., :length]


def _first_at_or_above(freqs: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """The first of ``freqs`` (ascending) that is ≥ ``f``; the last one if none is."""
    k = torch.searchsorted(freqs, f.detach().reshape(1)).clamp(max=freqs.numel() - 1)
    return freqs[k][0]


def _last_below(freqs: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """The last of ``freqs`` (ascending) that is < ``f``; the first one if none is."""
    k = (torch.searchsorted(freqs, f.detach().reshape(1)) - 1).clamp(min=0)
    return freqs[k][0]


class ReferenceBlindFilter(BlindFilter):
    """BABE-2 blind filter with the reference's design, framing, projection and fit.

    Design: each segment beyond a breakpoint is re-anchored at the first rFFT
    bin of the 4096-point grid at or past the breakpoint (on the low side, the
    last bin below it), so the response steps at breakpoints that fall between
    bins. The outer slopes are Adam parameters (∓``free_slope_limit_db`` before
    the first step, in the gradient-clip norm, reset to ∓``outer_slope_db``
    after every step); the stop rule averages each group's change, the outer
    slopes included, from the second iteration on; STFT frames append N_FFT
    zeros on the right. Build it as ``BlindFilter(sr, init, design="reference")``.

    Parameters
    ----------
    sample_rate, init, f_min, free_slope_limit_db, outer_slope_db, reg_weight, reg_beta, **kwargs:
        As :class:`BlindFilter`. The upper bound of the breakpoints is the
        integer Nyquist frequency ``sample_rate // 2`` (the reference's).
    mask_aware_fit:
        Honour the fit's ``weight_mask`` (Shellac's choice). False (the
        reference): the filter is fitted against all of y, a block's overlap
        with the previous output included.
    """

    def __init__(
        self,
        sample_rate: int,
        init: BlindFilterParams | None = None,
        *,
        design: str = "reference",
        f_min: float = 11.0,
        free_slope_limit_db: float = 40.0,
        outer_slope_db: float = 80.0,
        reg_weight: float = 10.0,
        reg_beta: float = 0.1,
        mask_aware_fit: bool = False,
        **kwargs: Any,
    ) -> None:
        ParametricBlindFilter.__init__(self, sample_rate, **kwargs)
        self.design = design
        self.f_max = float(int(sample_rate) // 2)
        self.mask_aware_fit = bool(mask_aware_fit)
        init = self._set_shape(init, f_min, free_slope_limit_db, outer_slope_db, reg_weight, reg_beta)
        lim = self.free_slope_limit_db
        # A new reference operator starts its outer slopes at the free-slope limits.
        self.a_p = self._leaf([*init.a_p[:2], -lim])
        self.a_m = self._leaf([*init.a_m[:2], lim])
        self._bins = self.freqs[1:]

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {"f_ref": self.f_ref, "fc_p": self.fc_p, "fc_m": self.fc_m, "a_p": self.a_p, "a_m": self.a_m}

    def filter_params(self) -> BlindFilterParams:
        """Current values, the outer slopes as they stand."""
        v = self.values()
        return BlindFilterParams(
            f_ref=v["f_ref"][0],
            fc_p=(v["fc_p"][0], v["fc_p"][1]),
            a_p=(v["a_p"][0], v["a_p"][1], v["a_p"][2]),
            fc_m=(v["fc_m"][0], v["fc_m"][1]),
            a_m=(v["a_m"][0], v["a_m"][1], v["a_m"][2]),
        )

    def set_values(self, values: dict[str, Any]) -> None:
        """Overwrite parameters (no projection); ``a_p``/``a_m`` with 2 values keep their outer slope."""
        full = dict(values)
        for name, tensor in (("a_p", self.a_p), ("a_m", self.a_m)):
            if name in full and len(list(full[name])) == 2:
                full[name] = [*[float(v) for v in full[name]], float(tensor[2])]
        self._assign_values(full)

    def response_db_log2(self, log2_freqs: torch.Tensor) -> torch.Tensor:
        """Response in dB at log2(f / 1 Hz), segments anchored on the 4096-point rFFT grid."""
        ell = log2_freqs
        bins = self._bins
        l_ref = torch.log2(self.f_ref[0])
        l_p = torch.log2(self.fc_p)
        l_m = torch.log2(self.fc_m)
        a_p, a_m = self.a_p, self.a_m
        # Above the anchor: each segment starts from the level of the previous one at
        # the first bin at or past its breakpoint.
        db = torch.where(ell >= l_ref, a_p[0] * (ell - l_ref), torch.zeros_like(ell))
        level, l_prev, slope_prev = ell.new_zeros(()), l_ref, a_p[0]
        for i in range(2):
            anchor = torch.log2(_first_at_or_above(bins, self.fc_p[i]))
            level = level + slope_prev * (anchor - l_prev)
            db = torch.where(ell >= l_p[i], level + a_p[i + 1] * (ell - l_p[i]), db)
            l_prev, slope_prev = l_p[i], a_p[i + 1]
        # Below the anchor: from the level of the last bin below each breakpoint.
        db = torch.where(ell < l_ref, a_m[0] * (ell - l_ref), db)
        level, l_prev, slope_prev = ell.new_zeros(()), l_ref, a_m[0]
        for i in range(2):
            anchor = torch.log2(_last_below(bins, self.fc_m[i]))
            level = level + slope_prev * (anchor - l_prev)
            db = torch.where(ell < l_m[i], level + a_m[i + 1] * (ell - l_m[i]), db)
            l_prev, slope_prev = l_m[i], a_m[i + 1]
        return db

    def project_(self) -> None:
        """The reference projection: clamps in its order (torch.clamp: max wins), outer slopes reset."""
        lo, hi, g, lim = self.f_min, self.f_max, ORDER_GAP_HZ, self.free_slope_limit_db
        with torch.no_grad():
            self.f_ref[0] = torch.clamp(self.f_ref[0], min=lo, max=hi)
            f_ref = float(self.f_ref[0])
            self.fc_p[0] = torch.clamp(self.fc_p[0], min=f_ref + g, max=hi)
            self.fc_p[1] = torch.clamp(self.fc_p[1], min=float(self.fc_p[0]) + g, max=hi)
            self.fc_m[0] = torch.clamp(self.fc_m[0], min=lo, max=f_ref - g)
            self.fc_m[1] = torch.clamp(self.fc_m[1], min=lo, max=float(self.fc_m[0]) - g)
            self.a_p.clamp_(-lim, lim)
            self.a_m.clamp_(-lim, lim)
            self.a_p[-1] = -self.outer_slope_db
            self.a_m[-1] = self.outer_slope_db

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Filter ``x`` ``[B, T]`` with the reference framing; differentiable in ``x`` and the parameters."""
        spec = reference_stft(x)
        gain = self.magnitude().to(dtype=spec.real.dtype, device=spec.device)
        return reference_istft(spec * gain[:, None], x.shape[-1]).to(x.dtype)

    def data_loss(self, x0_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """‖√w ⊙ (|X̂|·H − |Y|)‖₂ over all frames, w = linspace(0, 1, 2049); differentiable in φ."""
        mag_x = reference_stft(x0_hat.detach()).abs().to(self.device, torch.float64)
        mag_y = reference_stft(y.detach()).abs().to(self.device, torch.float64)
        w = torch.sqrt(torch.linspace(0.0, 1.0, N_BINS, dtype=torch.float64, device=self.device))[:, None]
        return torch.linalg.vector_norm((w * (mag_x * self.magnitude()[:, None] - mag_y)).reshape(-1))

    def fit(
        self,
        x0_hat: torch.Tensor,
        y: torch.Tensor,
        weight_mask: torch.Tensor | None = None,
    ) -> FitReport:
        """One reference fit call: Adam (state kept across calls), clip, project, stop from iteration 1."""
        if x0_hat.shape != y.shape or x0_hat.ndim != 2:
            raise ParameterError(f"x0_hat {tuple(x0_hat.shape)} and y {tuple(y.shape)} must both be [B, T]")
        if self.mask_aware_fit and weight_mask is not None:
            return ParametricBlindFilter.fit(self, x0_hat, y, weight_mask)
        with torch.no_grad():
            mag_x = reference_stft(x0_hat.detach()).abs().to(self.device, torch.float64)
            mag_y = reference_stft(y.detach()).abs().to(self.device, torch.float64)
            w = torch.sqrt(torch.linspace(0.0, 1.0, N_BINS, dtype=torch.float64, device=self.device))[:, None]
            wx, wy = w * mag_x, w * mag_y

        def data_term() -> torch.Tensor:
            # The reference's direct norm, not an expanded sum: breakpoints anchored on bins
            # make the fit's path sensitive to rounding, and this keeps the rounding its own.
            return torch.linalg.vector_norm((wx * self.magnitude()[:, None] - wy).reshape(-1))

        optimizer = self._adam()
        names = list(self._tensors())
        frames = mag_x.shape[-1]
        loss_initial = float("nan")
        previous: list[torch.Tensor] | None = None
        converged, n_done = False, 0
        for it in range(self.n_iters):
            optimizer.zero_grad(set_to_none=True)
            data = data_term()
            if it == 0:
                loss_initial = float(data.detach())
            (data + self.regulariser()).backward()
            torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
            optimizer.step()
            self.project_()
            n_done = it + 1
            if previous is not None and self._below_tolerance(names, previous):
                converged = True
                break
            previous = [t.detach().clone() for t in self.params]
        with torch.no_grad():
            loss_final = float(data_term())
            reg = float(self.regulariser())
        return FitReport(n_done, loss_initial, loss_final, reg, frames, frames, converged)

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "design": "reference", "mask_aware_fit": self.mask_aware_fit}
