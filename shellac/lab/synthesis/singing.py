"""Source-filter singing synthesiser: Rosenberg glottal pulses through five vowel formants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, lfilter, resample_poly, sosfilt

from shellac.engine.errors import ParameterError
from shellac.lab.synthesis.formants import VOWELS, FormantSet, vowel_formants

_OVERSAMPLE = 2  # the glottal pulse's corners alias at 44.1 kHz; render it at twice the rate
_HOP = 128  # control-rate hop (samples) of formant and pitch-dependent parameters
_LEGATO_GAP_S = 0.05  # notes closer than this are slurred (glide, no re-attack)


@dataclass(frozen=True)
class SungNote:
    """One sung note: timing in seconds, pitch as a (fractional) MIDI number, vowel, velocity 0–1."""

    start_s: float
    duration_s: float
    midi: float
    vowel: str = "a"
    velocity: float = 0.8


@dataclass(frozen=True)
class Voice:
    """How the singer sounds.

    Attributes
    ----------
    formant_set : "male" or "female"
        Tenor-like or soprano-like vowel formants.
    vibrato_rate_hz, vibrato_cents : float
        Vibrato rate (Hz) and peak deviation (cents).
    vibrato_onset_s : float
        Time for the vibrato to grow to full depth after a note starts (s).
    jitter, shimmer : float
        Relative standard deviation of the period and of the amplitude, cycle to cycle.
    drift_cents : float
        Standard deviation of the slow pitch wander (cents).
    breath : float
        Breath-noise level relative to the voiced sound (RMS ratio).
    open_quotient : float
        Fraction of each glottal cycle the glottis is open (louder notes close it sooner).
    glide_s, attack_s, release_s : float
        Legato pitch-glide, onset and decay times (s).
    formant_tuning : bool
        Raise F1 above f0 on high notes, as sopranos do.
    """

    formant_set: FormantSet = "male"
    vibrato_rate_hz: float = 5.5
    vibrato_cents: float = 50.0
    vibrato_onset_s: float = 0.3
    jitter: float = 0.004
    shimmer: float = 0.04
    drift_cents: float = 4.0
    breath: float = 0.03
    open_quotient: float = 0.6
    glide_s: float = 0.08
    attack_s: float = 0.06
    release_s: float = 0.12
    formant_tuning: bool = False


def midi_to_hz(midi: float | np.ndarray) -> np.ndarray:
    """Equal-tempered frequency in Hz of MIDI note number(s) (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def render_melody(
    notes: Sequence[SungNote],
    voice: Voice | None = None,
    *,
    sample_rate: int = 44_100,
    seed: int = 0,
    tail_s: float = 0.3,
    peak_dbfs: float = -3.0,
) -> np.ndarray:
    """Sing a melody.

    Parameters
    ----------
    notes:
        Notes in time order (overlaps are resolved in favour of the later note).
    voice:
        The singer (default: a male voice).
    sample_rate:
        Output rate, Hz.
    seed:
        Seed of jitter, shimmer, drift, vibrato wobble and breath noise.
    tail_s:
        Silence kept after the last note's end, seconds.
    peak_dbfs:
        Peak level of the result, dBFS.

    Returns
    -------
    np.ndarray
        Mono float64 audio.
    """
    voice = voice or Voice()
    if not notes:
        raise ParameterError("render_melody needs at least one note")
    for note in notes:
        if note.vowel not in VOWELS:
            raise ParameterError(f"vowel {note.vowel!r} is not one of {', '.join(VOWELS)}")
        if note.duration_s <= 0 or note.start_s < 0:
            raise ParameterError(f"note {note} needs start_s >= 0 and duration_s > 0")
    order = sorted(notes, key=lambda n: n.start_s)
    rng = np.random.default_rng(seed)
    n = int(np.ceil((max(x.start_s + x.duration_s for x in order) + tail_s) * sample_rate))
    t = np.arange(n) / sample_rate

    cents, amp, oq = _pitch_and_envelope(order, voice, t, rng)
    f0 = midi_to_hz(cents / 100.0)
    source = _glottal_source(f0, amp, oq, voice, sample_rate, rng)
    sung = _vocal_tract(source, order, voice, f0, t, sample_rate)
    breath = _breath_noise(sung, amp, voice, sample_rate, rng)
    out = sung + breath
    peak = float(np.max(np.abs(out)))
    return out * (10.0 ** (peak_dbfs / 20.0) / peak) if peak > 0 else out


def _legato(order: Sequence[SungNote]) -> list[bool]:
    """legato[i]: note i slurs into note i+1."""
    return [
        b.start_s - (a.start_s + a.duration_s) < _LEGATO_GAP_S for a, b in zip(order, order[1:], strict=False)
    ] + [False]


def _pitch_and_envelope(
    order: Sequence[SungNote], voice: Voice, t: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample pitch (MIDI cents), amplitude envelope and open quotient."""
    slur = _legato(order)
    starts = np.array([x.start_s for x in order])
    # Pitch staircase: each note's pitch from its start; held through rests.
    idx = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(order) - 1)
    pitch = np.array([x.midi for x in order])[idx] * 100.0
    for i, tied in enumerate(slur[:-1]):
        if not tied:
            continue
        # Legato: a raised-cosine glide centred on the boundary replaces the step.
        b, half = order[i + 1].start_s, voice.glide_s / 2.0
        m = (t >= b - half) & (t < b + half)
        w = 0.5 - 0.5 * np.cos(np.pi * (t[m] - (b - half)) / voice.glide_s)
        pitch[m] = 100.0 * (order[i].midi + (order[i + 1].midi - order[i].midi) * w)

    amp = np.zeros_like(t)
    oq = np.full_like(t, voice.open_quotient)
    depth = np.zeros_like(t)
    for i, note in enumerate(order):
        end = note.start_s + note.duration_s
        attack = 0.0 if i > 0 and slur[i - 1] else voice.attack_s
        release = 0.0 if slur[i] else voice.release_s
        stop = order[i + 1].start_s if slur[i] else end + release
        m = (t >= note.start_s) & (t < stop)
        local = t[m] - note.start_s
        env = np.ones_like(local)
        if attack > 0:
            env = np.minimum(env, 0.5 - 0.5 * np.cos(np.pi * np.clip(local / attack, 0.0, 1.0)))
        if release > 0:
            tail = np.clip((t[m] - end) / release, 0.0, 1.0)
            env *= 0.5 + 0.5 * np.cos(np.pi * tail)
        level = float(np.clip(note.velocity, 0.05, 1.0)) ** 1.5
        # A gentle swell over long notes (messa di voce).
        swell = 1.0 + 0.12 * np.sin(np.pi * np.clip(local / max(note.duration_s, 1e-3), 0.0, 1.0))
        amp[m] = np.maximum(amp[m], level * env * swell)
        # Louder singing closes the glottis sooner: brighter source.
        oq[m] = voice.open_quotient * (1.15 - 0.3 * note.velocity)
        depth[m] = np.clip(local / max(voice.vibrato_onset_s, 1e-3), 0.0, 1.0)

    fs = 1.0 / (t[1] - t[0]) if t.size > 1 else 1.0
    rate = voice.vibrato_rate_hz * (1.0 + 0.02 * _slow_noise(t.size, fs, 0.5, rng))
    vibrato = voice.vibrato_cents * depth * np.sin(2.0 * np.pi * np.cumsum(rate) / fs)
    drift = voice.drift_cents * _slow_noise(t.size, fs, 1.0, rng)
    return pitch + vibrato + drift, amp, oq


def _slow_noise(n: int, fs: float, cutoff_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-std noise band-limited below ``cutoff_hz``, made by interpolating sparse random points."""
    step = max(1, int(fs / (2.0 * cutoff_hz)))
    points = rng.standard_normal(n // step + 2)
    return np.interp(np.arange(n) / step, np.arange(points.size), points)


def _glottal_source(
    f0: np.ndarray, amp: np.ndarray, oq: np.ndarray, voice: Voice, sample_rate: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Differentiated Rosenberg glottal flow (flow derivative = source with lip radiation)."""
    fs = sample_rate * _OVERSAMPLE
    k = np.arange(f0.size * _OVERSAMPLE) / _OVERSAMPLE
    f0_os = np.interp(k, np.arange(f0.size), f0)
    cycles_est = int(np.sum(f0) / sample_rate) + 2
    jitter = 1.0 + voice.jitter * rng.standard_normal(cycles_est + 1)
    shimmer = np.clip(1.0 + voice.shimmer * rng.standard_normal(cycles_est + 1), 0.2, None)
    # Cycle indices come from the un-jittered phase; each cycle then gets its own period.
    cycle = np.minimum(np.floor(np.cumsum(f0_os) / fs).astype(np.int64), cycles_est)
    phase = np.cumsum(f0_os * jitter[cycle]) / fs
    frac = phase - np.floor(phase)
    cycle = np.minimum(np.floor(phase).astype(np.int64), cycles_est)
    oq_os = np.interp(k, np.arange(oq.size), oq)
    rise, fall = oq_os * 2.0 / 3.0, oq_os / 3.0
    flow = np.where(
        frac < rise,
        0.5 - 0.5 * np.cos(np.pi * frac / rise),
        np.where(frac < rise + fall, np.cos(0.5 * np.pi * (frac - rise) / fall), 0.0),
    )
    amp_os = np.interp(k, np.arange(amp.size), amp)
    derivative = np.diff(flow, prepend=0.0) * amp_os * shimmer[cycle]
    return resample_poly(derivative, 1, _OVERSAMPLE)[: f0.size]


def _formant_tracks(
    order: Sequence[SungNote], voice: Voice, f0: np.ndarray, t: np.ndarray, sample_rate: int
) -> tuple[np.ndarray, np.ndarray]:
    """Formant frequencies and bandwidths (Hz) per control frame, shape [frames, 5]."""
    frames = t[::_HOP]
    starts = np.array([x.start_s for x in order])
    idx = np.clip(np.searchsorted(starts, frames, side="right") - 1, 0, len(order) - 1)
    table = [vowel_formants(voice.formant_set, x.vowel).as_arrays() for x in order]
    freqs = np.stack([table[i][0] for i in idx])
    bws = np.stack([table[i][1] for i in idx])
    # Vowel changes take ~40 ms: smooth the staircase along time.
    width = max(1, int(0.04 * sample_rate / _HOP))
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()
    pad = ((width, width), (0, 0))
    freqs = np.stack([np.convolve(c, kernel, mode="same") for c in np.pad(freqs, pad, mode="edge").T], 1)
    bws = np.stack([np.convolve(c, kernel, mode="same") for c in np.pad(bws, pad, mode="edge").T], 1)
    freqs, bws = freqs[width:-width], bws[width:-width]
    if voice.formant_tuning:
        f0_frames = f0[::_HOP]
        freqs[:, 0] = np.maximum(freqs[:, 0], 1.1 * f0_frames)
        freqs[:, 1] = np.maximum(freqs[:, 1], freqs[:, 0] + 250.0)
    return np.minimum(freqs, 0.45 * sample_rate), bws


def _vocal_tract(
    source: np.ndarray, order: Sequence[SungNote], voice: Voice, f0: np.ndarray, t: np.ndarray,
    sample_rate: int,
) -> np.ndarray:
    """Cascade of five time-varying two-pole resonators (unit gain at 0 Hz, Klatt style)."""
    freqs, bws = _formant_tracks(order, voice, f0, t, sample_rate)
    out = np.empty_like(source)
    history = np.zeros((5, 2))  # last two outputs of each resonator: (y[n-1], y[n-2])
    for frame in range(freqs.shape[0]):
        lo, hi = frame * _HOP, min((frame + 1) * _HOP, source.size)
        y = source[lo:hi]
        for r in range(5):
            c = -np.exp(-2.0 * np.pi * bws[frame, r] / sample_rate)
            b = 2.0 * np.exp(-np.pi * bws[frame, r] / sample_rate) * np.cos(
                2.0 * np.pi * freqs[frame, r] / sample_rate
            )
            a = [1.0, -b, -c]
            # Transposed direct-form state from the previous outputs, valid for the new
            # coefficients: the filter changes smoothly without clicks.
            zi = [b * history[r, 0] + c * history[r, 1], c * history[r, 0]]
            y, _ = lfilter([1.0 - b - c], a, y, zi=zi)
            if y.size >= 2:
                history[r] = (y[-1], y[-2])
            elif y.size == 1:
                history[r] = (y[-1], history[r, 0])
        out[lo:hi] = y
    return out


def _breath_noise(
    sung: np.ndarray, amp: np.ndarray, voice: Voice, sample_rate: int, rng: np.random.Generator
) -> np.ndarray:
    """Aspiration: high-passed noise following the voice's envelope at ``voice.breath`` of its RMS."""
    if voice.breath <= 0:
        return np.zeros_like(sung)
    sos = butter(2, [1500.0, min(9000.0, 0.45 * sample_rate)], btype="bandpass", fs=sample_rate,
                 output="sos")
    noise = sosfilt(sos, rng.standard_normal(sung.size)) * amp
    rms_n = float(np.sqrt(np.mean(noise**2)))
    rms_v = float(np.sqrt(np.mean(sung**2)))
    return noise * (voice.breath * rms_v / rms_n) if rms_n > 0 else noise
