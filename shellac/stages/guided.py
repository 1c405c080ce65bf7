"""Parameters shared by the stages that restore flagged samples with a diffusion prior (declip, inpaint)."""

from __future__ import annotations

from pydantic import Field

from shellac.engine.diffusion.methods.choice import MethodName, MethodSettings
from shellac.engine.restoration.known import GuidedSettings
from shellac.engine.restoration.settings import GUIDED_SAMPLER, SamplerSettings
from shellac.stages.base import StageContext, StageParams

# The engine's settings are the one vocabulary: the parameters' defaults come from them.
_M = MethodSettings()
_G = GuidedSettings(method=_M, sampler=GUIDED_SAMPLER)
_S = _G.sampler


class GuidedRestorationParams(StageParams):
    """Model, guidance method and sampler numbers shared by the declip and inpaint stages."""

    model: str = Field(description="Model bundle key in the models directory (e.g. 'piano').")
    method: MethodName = Field(default="dc",
                               description="Guidance: rg, rg_drho, dc, repaint, pigdm, ddnm or dgg.")
    n_steps: int = Field(default=_S.n_steps, ge=2, le=400, description="Sampler steps N.")
    sigma_start: float = Field(default=_S.sigma_start, gt=0,
                               description="Warm-start noise level σ_start, in the model's amplitude units "
                                           "(σ_data in its config.json: 0.063 for piano, 1 for the singers).")
    sigma_min: float = Field(default=_S.sigma_min, gt=0, description="Last non-zero noise level σ_min.")
    rho: float = Field(default=_S.rho, gt=0, description="Schedule exponent ρ.")
    s_churn: float = Field(default=_S.s_churn, ge=0, description="Churn S_churn.")
    xi: float = Field(default=_M.xi, ge=0, description="Guidance step ξ (rg, rg_drho, pigdm).")
    sigma_y: float = Field(default=_M.sigma_y, ge=0,
                           description="Noise regularisation σ_y on y (rg, rg_drho, dgg).")
    drho_power: float = Field(default=_M.drho_power, ge=0, le=2,
                              description="κ of RG δρ's δ(t) = (1 + σ_d²/t²)^{κ/2}.")
    dgg_weight: float = Field(default=_M.dgg_weight, ge=0, le=1, description="DGG interpolation weight λ.")
    repaint_u: int = Field(default=_M.repaint_u, ge=0, le=20,
                           description="RePaint cycles per step (repaint: 2 if 0).")
    repaint_phase_start: int = Field(default=_M.repaint_phases[0], ge=0, le=2,
                                     description="Window start, in thirds of the steps.")
    repaint_phase_end: int = Field(default=_M.repaint_phases[1], ge=1, le=3,
                                   description="Window end, in thirds of the steps.")
    overlap_fraction: float = Field(default=_G.overlap_fraction, ge=0, lt=0.5,
                                    description="Block overlap, fraction.")
    seed: int = Field(default=_G.seed, ge=0, description="Seed of all sampler noise.")

    def method_settings(self) -> MethodSettings:
        """The engine's view of the method choice."""
        return MethodSettings(name=self.method, xi=self.xi, sigma_y=self.sigma_y, drho_power=self.drho_power,
                              dgg_weight=self.dgg_weight, repaint_u=self.repaint_u,
                              repaint_phases=(self.repaint_phase_start, self.repaint_phase_end))

    def sampler_settings(self) -> SamplerSettings:
        """Schedule and churn (ξ and σ_y travel in :meth:`method_settings`)."""
        return SamplerSettings(n_steps=self.n_steps, sigma_start=self.sigma_start, sigma_min=self.sigma_min,
                               rho=self.rho, xi=self.xi, sigma_y=self.sigma_y, s_churn=self.s_churn)

    def guided_settings(self) -> GuidedSettings:
        """Method, sampler, overlap and seed, as the engine takes them."""
        return GuidedSettings(method=self.method_settings(), sampler=self.sampler_settings(),
                              overlap_fraction=self.overlap_fraction, seed=self.seed)


def model_fingerprint(params: GuidedRestorationParams, ctx: StageContext) -> str:
    """Checksum of the model bundle; raises ``ModelLoadingError`` when it is not installed."""
    return ctx.models.checksum(params.model)
