"""The BABE-2 blind filter H_φ: anchor at 0 dB, two breakpoints each side, slopes in dB/octave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.parametric import ParametricBlindFilter

MIN_GAP_HZ = 0.01
"""Smallest distance kept between adjacent breakpoints, so their order stays strict."""

DESIGNS = ("shellac", "reference")
"""Filter designs: Shellac's continuous curve, or the reference's bin-anchored one."""


@dataclass(frozen=True)
class BlindFilterParams:
    """Plain values of the BABE-2 filter (Hz and dB/octave).

    ``a_p`` are the slopes above ``f_ref`` (between f_ref and fc_p[0], fc_p[0] and
    fc_p[1], above fc_p[1]); ``a_m`` the slopes below it (between fc_m[0] and
    f_ref, fc_m[1] and fc_m[0], below fc_m[1]). A negative ``a_p`` and a positive
    ``a_m`` attenuate away from the anchor. The last slope of each side is fixed
    (∓80 dB/octave by default) whatever is given here.
    """

    f_ref: float = 1000.0
    fc_p: tuple[float, float] = (1500.0, 2000.0)
    a_p: tuple[float, float, float] = (0.0, 0.0, -80.0)
    fc_m: tuple[float, float] = (500.0, 50.0)
    a_m: tuple[float, float, float] = (0.0, 0.0, 80.0)

    def to_json(self) -> dict[str, Any]:
        """Return the values as a JSON-serialisable dict."""
        return {
            "f_ref": self.f_ref,
            "fc_p": list(self.fc_p),
            "a_p": list(self.a_p),
            "fc_m": list(self.fc_m),
            "a_m": list(self.a_m),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BlindFilterParams:
        """Inverse of :meth:`to_json` (also accepts :meth:`BlindFilter.to_json`)."""
        try:
            f_ref = data["f_ref"]
            if isinstance(f_ref, list | tuple):
                (f_ref,) = f_ref
            return cls(
                f_ref=float(f_ref),
                fc_p=(float(data["fc_p"][0]), float(data["fc_p"][1])),
                a_p=(float(data["a_p"][0]), float(data["a_p"][1]), float(data["a_p"][2])),
                fc_m=(float(data["fc_m"][0]), float(data["fc_m"][1])),
                a_m=(float(data["a_m"][0]), float(data["a_m"][1]), float(data["a_m"][2])),
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ParameterError(f"invalid blind filter parameters {data!r}: {exc}") from exc


class BlindFilter(ParametricBlindFilter):
    """BABE-2 zero-phase blind filter, piecewise linear in dB over log2 frequency.

    Response (dB) at f > 0, with ℓ = log2 f and the breakpoints in log2:
    above f_ref, a_p[0]·clip(ℓ − ℓ_ref, 0, ℓ_p0 − ℓ_ref) + a_p[1]·clip(ℓ − ℓ_p0, 0,
    ℓ_p1 − ℓ_p0) + a_p[2]·max(ℓ − ℓ_p1, 0); below it the mirror image with a_m and
    fc_m. The curve is continuous, 0 dB at f_ref, and differentiable in every
    parameter (breakpoints get gradients through the clip bounds).

    Parameters
    ----------
    sample_rate:
        Sample rate in Hz.
    init:
        Starting values (defaults: the BABE-2 initial conditions); e.g. the
        filter carried from the previous block. They are projected first.
    f_min:
        Lowest allowed breakpoint in Hz (11).
    free_slope_limit_db:
        Bound on the free slopes, ±dB/octave (40).
    outer_slope_db:
        Magnitude of the fixed outermost slopes, dB/octave (80).
    reg_weight, reg_beta:
        Collapse regulariser weight·Σ exp(−beta·|Δf|) (10 and 0.1 per Hz).
    **kwargs:
        Fit settings of :class:`ParametricBlindFilter` (``n_iters``, ``lr``,
        ``grad_clip``, ``tol_hz``, ``tol_db``, ``device``).

    design:
        ``"shellac"`` (this class) or ``"reference"``: the reference's design,
        framing and fit (:class:`~shellac.engine.operators.reference_filter.ReferenceBlindFilter`).

    Notes
    -----
    The outermost slopes are constants rather than optimised-then-reset
    parameters; the projection keeps f_ref inside [f_min + 2g, Nyquist − 2g]
    (g = 0.01 Hz) so that the strict breakpoint order is always feasible.
    """

    def __new__(cls, *args: Any, design: str = "shellac", **kwargs: Any) -> BlindFilter:
        """Pick the class of the requested ``design``."""
        if design not in DESIGNS:
            raise ParameterError(f"unknown blind filter design {design!r}; choose one of {DESIGNS}")
        if design == "reference" and cls is BlindFilter:
            from shellac.engine.operators.reference_filter import ReferenceBlindFilter

            return super().__new__(ReferenceBlindFilter)
        return super().__new__(cls)

    def __init__(
        self,
        sample_rate: int,
        init: BlindFilterParams | None = None,
        *,
        design: str = "shellac",
        f_min: float = 11.0,
        free_slope_limit_db: float = 40.0,
        outer_slope_db: float = 80.0,
        reg_weight: float = 10.0,
        reg_beta: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(sample_rate, **kwargs)
        if not 0 < f_min < self.nyquist / 4:
            raise ParameterError(f"f_min must be in (0, Nyquist/4), got {f_min} Hz")
        init = self._set_shape(init, f_min, free_slope_limit_db, outer_slope_db, reg_weight, reg_beta)
        self.a_p_free = self._leaf(list(init.a_p[:2]))
        self.a_m_free = self._leaf(list(init.a_m[:2]))
        self.project_()

    def _set_shape(self, init: BlindFilterParams | None, f_min: float, free_slope_limit_db: float,
                   outer_slope_db: float, reg_weight: float, reg_beta: float) -> BlindFilterParams:
        """Store the shape limits and regulariser, create the breakpoint leaves; return the initial values."""
        self.f_min = float(f_min)
        self.free_slope_limit_db = float(free_slope_limit_db)
        self.outer_slope_db = float(outer_slope_db)
        self.reg_weight = float(reg_weight)
        self.reg_beta = float(reg_beta)
        init = init if init is not None else BlindFilterParams()
        self.f_ref = self._leaf([init.f_ref])
        self.fc_p = self._leaf(list(init.fc_p))
        self.fc_m = self._leaf(list(init.fc_m))
        return init

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {
            "f_ref": self.f_ref,
            "fc_p": self.fc_p,
            "fc_m": self.fc_m,
            "a_p": self.a_p_free,
            "a_m": self.a_m_free,
        }

    def _is_frequency(self, name: str) -> bool:
        return name.startswith("f")

    def filter_params(self) -> BlindFilterParams:
        """Current values, outer slopes included."""
        v = self.values()
        return BlindFilterParams(
            f_ref=v["f_ref"][0],
            fc_p=(v["fc_p"][0], v["fc_p"][1]),
            a_p=(v["a_p"][0], v["a_p"][1], -self.outer_slope_db),
            fc_m=(v["fc_m"][0], v["fc_m"][1]),
            a_m=(v["a_m"][0], v["a_m"][1], self.outer_slope_db),
        )

    def set_values(self, values: dict[str, Any]) -> None:
        """Overwrite parameters; ``a_p``/``a_m`` may have 2 (free) or 3 values (outer ignored)."""
        trimmed = dict(values)
        for key in ("a_p", "a_m"):
            if key in trimmed and len(list(trimmed[key])) == 3:
                trimmed[key] = list(trimmed[key])[:2]
        if "f_ref" in trimmed and not isinstance(trimmed["f_ref"], list | tuple):
            trimmed["f_ref"] = [trimmed["f_ref"]]
        super().set_values(trimmed)

    def response_db_log2(self, log2_freqs: torch.Tensor) -> torch.Tensor:
        """Magnitude response in dB at frequencies given as log2(f / 1 Hz), differentiable."""
        ell = log2_freqs
        zero = ell.new_zeros(())
        l_ref = torch.log2(self.f_ref)[0]
        l_p0, l_p1 = torch.log2(self.fc_p).unbind()
        l_m0, l_m1 = torch.log2(self.fc_m).unbind()
        a_p0, a_p1 = self.a_p_free.unbind()
        a_m0, a_m1 = self.a_m_free.unbind()

        # Octaves travelled inside each segment, signed (negative below the anchor).
        up0 = torch.clamp(torch.minimum(ell - l_ref, l_p0 - l_ref), min=0.0)
        up1 = torch.clamp(torch.minimum(ell - l_p0, l_p1 - l_p0), min=0.0)
        up2 = torch.maximum(ell - l_p1, zero)
        dn0 = torch.clamp(torch.maximum(ell - l_ref, l_m0 - l_ref), max=0.0)
        dn1 = torch.clamp(torch.maximum(ell - l_m0, l_m1 - l_m0), max=0.0)
        dn2 = torch.minimum(ell - l_m1, zero)
        return (
            a_p0 * up0
            + a_p1 * up1
            - self.outer_slope_db * up2
            + a_m0 * dn0
            + a_m1 * dn1
            + self.outer_slope_db * dn2
        )

    def breakpoint_gaps(self) -> torch.Tensor:
        """Adjacent gaps (Hz) along f_min < fc_m[1] < fc_m[0] < f_ref < fc_p[0] < fc_p[1] ≤ Nyquist."""
        lo = self.f_ref.new_tensor([self.f_min])
        hi = self.f_ref.new_tensor([self.nyquist])
        chain = torch.cat([lo, self.fc_m.flip(0), self.f_ref, self.fc_p, hi])
        return chain[1:] - chain[:-1]

    def regulariser(self) -> torch.Tensor:
        """Breakpoint-collapse penalty reg_weight·Σ exp(−reg_beta·|Δf|) over the 6 gaps."""
        return self.reg_weight * torch.exp(-self.reg_beta * self.breakpoint_gaps().abs()).sum()

    def project_(self) -> None:
        """Clamp f_ref, restore the strict breakpoint order, bound free slopes."""
        g, lo, hi = MIN_GAP_HZ, self.f_min, self.nyquist
        with torch.no_grad():
            self.f_ref.clamp_(lo + 2 * g, hi - 2 * g)
            f_ref = float(self.f_ref[0])
            self.fc_p[0].clamp_(f_ref + g, hi - g)
            self.fc_p[1].clamp_(float(self.fc_p[0]) + g, hi)
            self.fc_m[0].clamp_(lo + g, f_ref - g)
            self.fc_m[1].clamp_(lo, float(self.fc_m[0]) - g)
            lim = self.free_slope_limit_db
            self.a_p_free.clamp_(-lim, lim)
            self.a_m_free.clamp_(-lim, lim)

    def to_json(self) -> dict[str, Any]:
        """Kind, sample rate and the full parameter set (outer slopes included)."""
        return {
            "kind": type(self).__name__,
            "sample_rate": self.sample_rate,
            **self.filter_params().to_json(),
        }
