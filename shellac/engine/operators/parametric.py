"""Shared machinery of zero-phase parametric blind filters: response, STFT application, Adam fit."""

from __future__ import annotations

import copy
from abc import abstractmethod
from typing import Any

import numpy as np
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators import stft as stft_frames
from shellac.engine.operators.base import BlindOperator, FitReport

STATE_VERSION = 1


class ParametricBlindFilter(BlindOperator):
    """A zero-phase magnitude filter defined by a few named parameters, fitted with Adam.

    The filter's magnitude lives on the 2049 bins of a 4096-point rFFT (DC forced
    to 0) and is applied by STFT (Hamming 4096, hop 2048, see
    :mod:`~shellac.engine.operators.stft`): the same frames as the fit, so the
    model fitted on magnitudes is the one applied to the waveform. STFT
    application avoids the circular wrap-around a whole-segment FFT would
    cause at the segment edges.

    Subclasses define the parameters (``_tensors``), the response in dB
    (``response_db_torch``), the projection (``project_``) and optionally a
    regulariser.

    Parameters
    ----------
    sample_rate:
        Sample rate in Hz.
    n_iters:
        Maximum Adam iterations per :meth:`fit` call (100 in BABE-2).
    lr:
        Adam learning rate (10; parameters are in Hz and dB/octave).
    grad_clip:
        Maximum global gradient norm before each step (1).
    tol_hz, tol_db:
        Early stop when the mean absolute change of every frequency parameter
        group is below ``tol_hz`` (Hz) and of every slope group below ``tol_db``
        (dB/octave) between two iterations (0.1 and 0.1 as in the reference).
    device:
        Device of the parameters; inputs must be on the same device.
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        n_iters: int = 100,
        lr: float = 10.0,
        grad_clip: float = 1.0,
        tol_hz: float = 0.1,
        tol_db: float = 0.1,
        device: torch.device | str | None = None,
    ) -> None:
        if sample_rate <= 0:
            raise ParameterError(f"sample_rate must be positive, got {sample_rate}")
        if n_iters < 1:
            raise ParameterError(f"n_iters must be >= 1, got {n_iters}")
        self.sample_rate = int(sample_rate)
        self.n_iters = int(n_iters)
        self.lr = float(lr)
        self.grad_clip = float(grad_clip)
        self.tol_hz = float(tol_hz)
        self.tol_db = float(tol_db)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.freqs = torch.fft.rfftfreq(
            stft_frames.N_FFT, d=1.0 / self.sample_rate, dtype=torch.float64, device=self.device
        )
        # log2 of the positive bins, computed once: the fit evaluates the response
        # hundreds of times per sampler step.
        self._log2_bins = torch.log2(self.freqs[1:])
        self._optimizer: torch.optim.Adam | None = None

    # -- to be defined by subclasses -------------------------------------------------

    @abstractmethod
    def _tensors(self) -> dict[str, torch.Tensor]:
        """Named trainable tensors (float64 leaves), in a fixed order."""

    @abstractmethod
    def _is_frequency(self, name: str) -> bool:
        """Whether parameter ``name`` is in Hz (else dB/octave), for the stop tolerance."""

    @abstractmethod
    def response_db_log2(self, log2_freqs: torch.Tensor) -> torch.Tensor:
        """Magnitude response in dB at frequencies given as log2(f / 1 Hz), differentiable."""

    @abstractmethod
    def project_(self) -> None:
        """Project the parameters in place onto their feasible set (no gradient)."""

    def _leaf(self, values: list[float]) -> torch.Tensor:
        """A trainable float64 parameter tensor on the operator's device."""
        return torch.tensor(values, dtype=torch.float64, device=self.device, requires_grad=True)

    def regulariser(self) -> torch.Tensor:
        """Weighted regulariser added to the fit loss (none by default)."""
        return torch.zeros((), dtype=torch.float64, device=self.device)

    # -- public API ------------------------------------------------------------------

    @property
    def nyquist(self) -> float:
        """Nyquist frequency in Hz."""
        return self.sample_rate / 2.0

    @property
    def params(self) -> list[torch.Tensor]:
        """The trainable tensors (see :meth:`values` for plain numbers)."""
        return list(self._tensors().values())

    def values(self) -> dict[str, list[float]]:
        """Current parameter values as plain lists (Hz and dB/octave)."""
        return {k: [float(v) for v in t.detach().cpu()] for k, t in self._tensors().items()}

    def set_values(self, values: dict[str, Any]) -> None:
        """Overwrite the parameters from :meth:`values`-style numbers, then project."""
        self._assign_values(values)
        self.project_()

    def _assign_values(self, values: dict[str, Any]) -> None:
        """Overwrite the parameters from :meth:`values`-style numbers (no projection)."""
        tensors = self._tensors()
        unknown = set(values) - set(tensors)
        if unknown:
            raise ParameterError(f"unknown filter parameters {sorted(unknown)}")
        with torch.no_grad():
            for name, new in values.items():
                target = tensors[name]
                new_t = torch.as_tensor(new, dtype=target.dtype, device=target.device).reshape(-1)
                if new_t.shape != target.shape:
                    raise ParameterError(
                        f"parameter {name!r} needs {target.numel()} values, got {new_t.numel()}"
                    )
                target.copy_(new_t)

    def response_db_torch(self, freqs_hz: torch.Tensor) -> torch.Tensor:
        """Magnitude response in dB at strictly positive ``freqs_hz`` (Hz), differentiable."""
        return self.response_db_log2(torch.log2(freqs_hz.to(torch.float64)))

    def magnitude(self) -> torch.Tensor:
        """Linear magnitude on the 2049 rFFT bins (float64, differentiable, DC = 0)."""
        gain = 10.0 ** (self.response_db_log2(self._log2_bins) / 20.0)
        return torch.cat([gain.new_zeros(1), gain])

    def response_db(self, freqs_hz: np.ndarray | list[float]) -> np.ndarray:
        """Magnitude response in dB at ``freqs_hz`` (Hz); −inf at 0 Hz (DC is removed)."""
        f = torch.as_tensor(np.asarray(freqs_hz, dtype=np.float64), device=self.device)
        out = torch.full_like(f, -np.inf)
        pos = f > 0
        with torch.no_grad():
            out[pos] = self.response_db_torch(f[pos])
        return out.cpu().numpy()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Filter ``x`` ``[B, T]`` by STFT; differentiable in ``x`` and the parameters."""
        spec = stft_frames.stft(x)
        gain = self.magnitude().to(dtype=spec.real.dtype, device=spec.device)
        return stft_frames.istft(spec * gain[:, None], x.shape[-1]).to(x.dtype)

    def reset_optimizer(self) -> None:
        """Forget Adam's moment estimates (the next fit starts a fresh optimiser)."""
        self._optimizer = None

    def _adam(self) -> torch.optim.Adam:
        if self._optimizer is None:
            self._optimizer = torch.optim.Adam(self.params, lr=self.lr)
        return self._optimizer

    def fit(
        self,
        x0_hat: torch.Tensor,
        y: torch.Tensor,
        weight_mask: torch.Tensor | None = None,
    ) -> FitReport:
        """Fit the filter so that |STFT(x0_hat)|·H matches |STFT(y)|.

        Loss: ‖w ⊙ v ⊙ (|X̂|·H − |Y|)‖₂ + regulariser, with frequency weight
        w = √linspace(0, 1, 2049) and frame weight v from ``weight_mask`` (the
        smallest sample weight under each frame; frames touching a 0 are
        excluded). Adam with gradient clipping and projection after each step;
        Adam's moments persist across calls (see :meth:`reset_optimizer`).

        Parameters
        ----------
        x0_hat:
            Clean estimate ``[B, T]``, amplitude units (detached inside).
        y:
            Observation ``[B, T]``.
        weight_mask:
            Optional per-sample weights ``[T]`` or ``[B, T]`` in [0, 1].
        """
        if x0_hat.shape != y.shape or x0_hat.ndim != 2:
            raise ParameterError(f"x0_hat {tuple(x0_hat.shape)} and y {tuple(y.shape)} must both be [B, T]")
        with torch.no_grad():
            mag_x = stft_frames.stft(x0_hat.detach()).abs().to(self.device, torch.float64)
            mag_y = stft_frames.stft(y.detach()).abs().to(self.device, torch.float64)
            frames_total = mag_x.shape[-1]
            if weight_mask is None:
                v2 = torch.ones(mag_x.shape[0], 1, frames_total, dtype=torch.float64, device=self.device)
                frames_used = frames_total
            else:
                v = stft_frames.frame_weights(weight_mask.to(self.device), *x0_hat.shape)
                v2 = (v**2)[:, None, :]
                frames_used = int((v > 0).any(dim=0).sum())
            # ‖w·v·(|X̂|H − |Y|)‖² = Σ_f w_f²(H_f²·a_f − 2H_f·c_f + e_f): the per-bin sums
            # over frames are computed once, so an iteration costs O(bins), not
            # O(bins × frames) — the fit runs ~10⁴ iterations per segment.
            a_f = (v2 * mag_x**2).sum(dim=(0, 2))
            c_f = (v2 * mag_x * mag_y).sum(dim=(0, 2))
            e_f = (v2 * mag_y**2).sum(dim=(0, 2))
            w2 = torch.linspace(0.0, 1.0, stft_frames.N_BINS, dtype=torch.float64, device=self.device)

        def data_term() -> torch.Tensor:
            h = self.magnitude()
            squared = (w2 * (h * h * a_f - 2.0 * h * c_f + e_f)).sum()
            # Rounding can push an exact fit a hair below 0; clamp keeps sqrt finite.
            return torch.sqrt(squared.clamp_min(1e-300))

        if frames_used == 0:
            with torch.no_grad():
                loss0 = float(data_term())
                reg = float(self.regulariser())
            return FitReport(0, loss0, loss0, reg, 0, frames_total, False, skipped=True)

        optimizer = self._adam()
        names = list(self._tensors())
        loss_initial = float("nan")
        converged = False
        n_done = 0
        for it in range(self.n_iters):
            previous = [t.detach().clone() for t in self.params]
            optimizer.zero_grad(set_to_none=True)
            data = data_term()
            if it == 0:
                loss_initial = float(data.detach())
            loss = data + self.regulariser()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
            optimizer.step()
            self.project_()
            n_done = it + 1
            if self._below_tolerance(names, previous):
                converged = True
                break
        with torch.no_grad():
            loss_final = float(data_term())
            reg = float(self.regulariser())
        return FitReport(n_done, loss_initial, loss_final, reg, frames_used, frames_total, converged)

    def _below_tolerance(self, names: list[str], previous: list[torch.Tensor]) -> bool:
        for name, old, new in zip(names, previous, self.params, strict=True):
            tol = self.tol_hz if self._is_frequency(name) else self.tol_db
            if float((new.detach() - old).abs().mean()) >= tol:
                return False
        return True

    def _config(self) -> dict[str, Any]:
        return {
            "sample_rate": self.sample_rate,
            "n_iters": self.n_iters,
            "lr": self.lr,
            "grad_clip": self.grad_clip,
            "tol_hz": self.tol_hz,
            "tol_db": self.tol_db,
        }

    def state_dict(self) -> dict[str, Any]:
        """Kind, version, configuration, parameter values and Adam state (or None)."""
        return {
            "kind": type(self).__name__,
            "version": STATE_VERSION,
            "config": self._config(),
            "values": self.values(),
            # Deep copy: Adam's state_dict aliases its live moment tensors, and a
            # carried state must not change when this filter keeps fitting.
            "optimizer": (None if self._optimizer is None else copy.deepcopy(self._optimizer.state_dict())),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore parameter values and Adam state saved by :meth:`state_dict`.

        Raises
        ------
        ParameterError
            If the state is of another filter kind, version or sample rate.
        """
        if state.get("kind") != type(self).__name__ or state.get("version") != STATE_VERSION:
            raise ParameterError(
                f"cannot load filter state of kind {state.get('kind')!r} version "
                f"{state.get('version')!r} into {type(self).__name__} v{STATE_VERSION}"
            )
        if state["config"]["sample_rate"] != self.sample_rate:
            raise ParameterError(
                f"filter state is for {state['config']['sample_rate']} Hz, "
                f"this filter runs at {self.sample_rate} Hz"
            )
        self.set_values(state["values"])
        self._optimizer = None
        if state.get("optimizer") is not None:
            self._adam().load_state_dict(copy.deepcopy(state["optimizer"]))

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable description: kind, sample rate, parameter values."""
        return {"kind": type(self).__name__, "sample_rate": self.sample_rate, **self.values()}
