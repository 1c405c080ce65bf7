"""Parameters of the simulated 78 rpm transfer chain, with bounds, and a sampler of realistic chains."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

ROTATION_RATE_HZ = 78.0 / 60.0  # one turn of a 78 rpm disc: the natural wow period


class Resonance(BaseModel):
    """One resonant peak (or notch) of the acoustic horn, added to the response in dB."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    freq_hz: float = Field(ge=100.0, le=8000.0, description="Centre frequency in Hz.")
    gain_db: float = Field(ge=-18.0, le=18.0, description="Peak gain at the centre in dB.")
    q: float = Field(ge=0.5, le=20.0, description="Quality factor (centre / -3 dB-ish bandwidth).")


class DegradationParams(BaseModel):
    """A 78 rpm transfer degradation chain: horn EQ, level, saturation, wow and surface noise.

    Noise levels are relative to the music after EQ and saturation, so a chain
    means the same thing whatever the loudness of the clean input.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- horn-like band-pass EQ (declared as a magnitude response in dB) ---
    highpass_hz: float = Field(
        default=250.0, ge=40.0, le=600.0, description="Low roll-off corner in Hz."
    )
    highpass_slope_db_per_oct: float = Field(
        default=12.0, ge=6.0, le=48.0, description="Asymptotic low roll-off slope in dB/octave."
    )
    lowpass_hz: float = Field(
        default=4000.0, ge=1500.0, le=10000.0, description="High cut-off corner in Hz."
    )
    lowpass_slope_db_per_oct: float = Field(
        default=36.0, ge=12.0, le=96.0, description="Asymptotic high roll-off slope in dB/octave."
    )
    resonances: tuple[Resonance, ...] = Field(
        default=(
            Resonance(freq_hz=600.0, gain_db=6.0, q=3.0),
            Resonance(freq_hz=1800.0, gain_db=4.0, q=4.0),
        ),
        max_length=6,
        description="Horn resonances added to the band-pass shape.",
    )
    eq_floor_db: float = Field(
        default=-80.0, ge=-120.0, le=-30.0, description="Lowest gain of the EQ in dB (stop bands)."
    )
    # --- level and cutting-stylus saturation ---
    peak_dbfs: float = Field(
        default=-4.0, ge=-24.0, le=-0.5,
        description="Peak level of the equalised music before saturation, in dBFS.",
    )
    drive_db: float = Field(
        default=3.0, ge=0.0, le=18.0,
        description="Saturation drive in dB: y = tanh(g x) / g with g = 10^(drive/20).",
    )
    # --- wow (speed drift), off by default ---
    wow_depth_percent: float = Field(
        default=0.0, ge=0.0, le=2.0, description="Peak speed deviation in percent; 0 disables wow."
    )
    wow_rate_hz: float = Field(
        default=ROTATION_RATE_HZ, ge=0.1, le=5.0,
        description="Wow rate in Hz (78/60 Hz = once per disc rotation).",
    )
    # --- surface noise ---
    hiss_snr_db: float | None = Field(
        default=25.0, ge=0.0, le=80.0,
        description="Music-to-hiss power ratio in dB; None disables hiss.",
    )
    hiss_tilt_db_per_oct: float = Field(
        default=-1.5, ge=-6.0, le=3.0, description="Spectral tilt of the hiss in dB/octave."
    )
    click_rate_hz: float = Field(
        default=1.0, ge=0.0, le=30.0, description="Mean number of clicks per second."
    )
    click_width_ms: tuple[float, float] = Field(
        default=(0.1, 2.0), description="Range of click durations in ms (each within 0.1-2 ms)."
    )
    click_amplitude: tuple[float, float] = Field(
        default=(0.1, 0.6), description="Range of click peak amplitudes, linear full scale (0-1)."
    )
    crackle_rate_hz: float = Field(
        default=300.0, ge=0.0, le=5000.0, description="Mean number of crackle ticks per second."
    )
    crackle_level_db: float = Field(
        default=-30.0, ge=-70.0, le=-6.0,
        description="Median crackle tick peak relative to the music RMS, in dB.",
    )

    @model_validator(mode="after")
    def _check_ranges(self) -> DegradationParams:
        if self.lowpass_hz <= 2.0 * self.highpass_hz:
            raise ValueError(
                f"lowpass_hz ({self.lowpass_hz}) must exceed 2 x highpass_hz ({self.highpass_hz})"
            )
        lo, hi = self.click_width_ms
        if not 0.1 <= lo <= hi <= 2.0:
            raise ValueError(f"click_width_ms must satisfy 0.1 <= min <= max <= 2.0, got {lo, hi}")
        lo, hi = self.click_amplitude
        if not 0.0 < lo <= hi <= 1.0:
            raise ValueError(f"click_amplitude must satisfy 0 < min <= max <= 1, got {lo, hi}")
        return self


def random_params(rng: np.random.Generator) -> DegradationParams:
    """Sample a realistic acoustic-era 78 rpm transfer chain.

    The band is always limited (cut-off 2.5-6 kHz, roll-off below 200-300 Hz),
    hiss sits 14-28 dB below the music and there are 0.5-3 clicks per second,
    so every draw is clearly degraded. Wow stays off.

    Parameters
    ----------
    rng
        Source of randomness; the same generator state gives the same chain.
    """
    n_res = int(rng.integers(2, 5))
    # Spread the resonances over the horn's working band, one per log-spaced slot,
    # so two peaks never pile up at one frequency.
    edges = np.geomspace(350.0, 4500.0, n_res + 1)
    resonances = tuple(
        Resonance(
            freq_hz=round(float(np.exp(rng.uniform(np.log(a), np.log(b)))), 1),
            gain_db=round(float(rng.uniform(2.0, 10.0)), 2),
            q=round(float(rng.uniform(2.0, 8.0)), 2),
        )
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    )
    w_lo = float(rng.uniform(0.1, 0.5))
    a_lo = float(rng.uniform(0.05, 0.3))
    return DegradationParams(
        highpass_hz=round(float(rng.uniform(200.0, 300.0)), 1),
        highpass_slope_db_per_oct=round(float(rng.uniform(12.0, 24.0)), 1),
        lowpass_hz=round(float(rng.uniform(2500.0, 6000.0)), 1),
        lowpass_slope_db_per_oct=round(float(rng.uniform(24.0, 60.0)), 1),
        resonances=resonances,
        eq_floor_db=-80.0,
        peak_dbfs=round(float(rng.uniform(-8.0, -3.0)), 2),
        drive_db=round(float(rng.uniform(1.0, 6.0)), 2),
        wow_depth_percent=0.0,
        hiss_snr_db=round(float(rng.uniform(14.0, 28.0)), 2),
        hiss_tilt_db_per_oct=round(float(rng.uniform(-3.0, 0.0)), 2),
        click_rate_hz=round(float(rng.uniform(0.5, 3.0)), 2),
        click_width_ms=(round(w_lo, 3), round(float(rng.uniform(max(w_lo, 0.8), 2.0)), 3)),
        click_amplitude=(round(a_lo, 3), round(float(rng.uniform(max(a_lo, 0.4), 0.9)), 3)),
        crackle_rate_hz=round(float(rng.uniform(100.0, 800.0)), 1),
        crackle_level_db=round(float(rng.uniform(-36.0, -22.0)), 2),
    )
