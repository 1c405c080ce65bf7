"""Experiment record (session 20): the note-template fit of a recording's band gains (shared by the scripts here).

Not shipped code. A semitone-band spectrogram V (FFT 8192, hop 2048) of a mono signal is fitted as
V = g * (W A) + N: W the 88 piano notes' spectra (templates rendered from the training fonts, FluidR3
and TimGM6mb, velocity 80, first 0.5 s; never the held-out font), A >= 0 each note's activation per
frame, g >= 0 one gain per band shared by all frames (smoothed over 1/6 octave after each update), N
the bands' noise floor (half the 10th percentile over frames). Beta-divergence multiplicative updates
(BETA, default 1: KL), ITERS iterations (default 300), notes up to MAX_PITCH (MIDI, default 108,
the piano's top), all three from the environment.
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.ndimage import gaussian_filter1d
from scipy.signal import stft

SR, NFFT, HOP = 22050, 8192, 2048
BETA = float(os.environ.get("BETA", "1"))
ITERS = int(os.environ.get("ITERS", "300"))
PITCHES = np.arange(21, int(os.environ.get("MAX_PITCH", "108")) + 1)
BAND_MIDI = np.arange(31, 125)          # semitone bands, 49 Hz .. 11.2 kHz
CENTRES = 440.0 * 2.0 ** ((BAND_MIDI - 69) / 12.0)
FREQS = np.fft.rfftfreq(NFFT, 1.0 / SR)
EDGES = 440.0 * 2.0 ** ((np.append(BAND_MIDI, BAND_MIDI[-1] + 1) - 69.5) / 12.0)
BIN_BAND = np.digitize(FREQS, EDGES) - 1


def bands(power: np.ndarray) -> np.ndarray:
    """Sum rFFT-bin power ([bins, frames]) into the semitone bands."""
    out = np.zeros((BAND_MIDI.size, power.shape[1]))
    ok = (BIN_BAND >= 0) & (BIN_BAND < BAND_MIDI.size)
    np.add.at(out, BIN_BAND[ok], power[ok])
    return out


def spectrogram(x: np.ndarray) -> np.ndarray:
    return bands(np.abs(stft(x, nperseg=NFFT, noverlap=NFFT - HOP, window="hann")[2]) ** 2)


def templates() -> np.ndarray:
    """[bands, 88] note spectra, unit total power, mean over the two training fonts."""
    import pretty_midi
    acc = np.zeros((BAND_MIDI.size, PITCHES.size))
    for font in ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2"):
        midi = pretty_midi.PrettyMIDI(initial_tempo=120)
        piano = pretty_midi.Instrument(program=0)
        for i, p in enumerate(PITCHES):
            piano.notes.append(pretty_midi.Note(80, int(p), 2.0 * i, 2.0 * i + 1.0))
        midi.instruments.append(piano)
        with tempfile.TemporaryDirectory() as tmp:
            mid, wav = Path(tmp) / "n.mid", Path(tmp) / "n.wav"
            midi.write(str(mid))
            subprocess.run([shutil.which("fluidsynth"), "-ni", "-q", "-g", "0.6", "-C", "0", "-r", str(SR),
                            "-O", "float", "-T", "wav", "-F", str(wav), font, str(mid)], check=True)
            audio = sf.read(wav, always_2d=True)[0].mean(axis=1)
        for i in range(PITCHES.size):
            seg = audio[int(2.0 * i * SR): int((2.0 * i + 0.5) * SR)]
            spec = spectrogram(np.pad(seg, (0, NFFT))).mean(axis=1)
            acc[:, i] += spec / spec.sum()
    return acc / 2.0


def fit_gain(v: np.ndarray, w: np.ndarray, iters: int = ITERS, beta: float = BETA) -> np.ndarray:
    """Band gain g (dB) of V = g * (W A) + N, beta-divergence multiplicative updates, g smoothed over
    1/6 octave after each update."""
    noise = np.quantile(v, 0.1, axis=1, keepdims=True) * 0.5
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 1.5, (w.shape[1], v.shape[1])) * v.sum(axis=0, keepdims=True) / w.shape[1]
    g = np.ones((v.shape[0], 1))
    for _ in range(iters):
        lam = g * (w @ a) + noise + 1e-30
        a *= ((g * w).T @ (v * lam ** (beta - 2))) / ((g * w).T @ lam ** (beta - 1) + 1e-30)
        wa = w @ a
        lam = g * wa + noise + 1e-30
        g *= ((wa * v * lam ** (beta - 2)).sum(axis=1, keepdims=True)) / (
            (wa * lam ** (beta - 1)).sum(axis=1, keepdims=True) + 1e-30)
        g = np.exp(gaussian_filter1d(np.log(np.maximum(g, 1e-12)), 2.0, axis=0, mode="nearest"))
    return 10.0 * np.log10(np.maximum(g[:, 0], 1e-12))
