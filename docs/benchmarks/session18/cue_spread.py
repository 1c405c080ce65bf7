"""Experiment record (session 18): do onset-weighted spectra vary less between piano pieces than the LTAS?

Not shipped code. If a descriptor varied less from piece to piece than the LTAS in the bands where the
chain EQ errs (the skirts), a reference of that descriptor would tell a chain cut-off from a piece's own
register better. Clean validation renders only (24 excerpts in each of the held-out font, FluidR3 and
TimGM6mb, seed 0, 5.5 s at 22050 Hz, cached by earlier sessions' bench-heldout --part validation runs);
per octave band, the standard deviation over pieces of each descriptor's band level (dB, each curve
levelled over 250-2000 Hz), averaged over the three fonts. Descriptors: LTAS; mean positive spectral
flux; flux of the 5 % frames of largest total flux (onsets); flux of the loudest half's frames with the
largest share above 2 kHz (hammer transients). Output: cue_spread.log.
Usage (from the repository root): python cue_spread.py   (the cache path is /tmp/s12/cache)."""
import sys
from dataclasses import replace
from pathlib import Path
import numpy as np
from scipy.signal import stft
from shellac.engine.dsp.ltas import third_octave_smooth
from shellac.lab.heldout.material import find_soundfont, load_heldout
from shellac.lab.heldout.runner import prepare_excerpts

SR, NF = 22050, 2048
f = np.fft.rfftfreq(NF, 1 / SR)
edges = [50, 100, 200, 400, 800, 1600, 3200, 6400, 11025]


def descriptors(x):
    P = np.abs(stft(x, fs=SR, window="hann", nperseg=NF, noverlap=NF - 512)[2]) ** 2
    ltas = P.mean(axis=1)
    flux = np.maximum(P[:, 1:] - P[:, :-1], 0)
    meanflux = flux.mean(axis=1)
    total = flux.sum(axis=0)
    top = total >= np.quantile(total, 0.95)
    onset = flux[:, top].mean(axis=1)
    hf = (f > 2000)
    # broadband-ness: frames whose flux above 2 kHz is largest relative to their total flux
    share = flux[hf].sum(axis=0) / np.maximum(total, 1e-30)
    loud = total >= np.quantile(total, 0.5)
    trans = flux[:, loud & (share >= np.quantile(share[loud], 0.9))].mean(axis=1)
    out = {}
    for k, v in (("ltas", ltas), ("meanflux", meanflux), ("onset", onset), ("transient", trans)):
        db = 10 * np.log10(np.maximum(third_octave_smooth(v, SR, NF), 1e-30))
        mid = (f >= 250) & (f <= 2000)
        out[k] = db - db[mid].mean()
    return out


part0 = load_heldout("validation", kind="piano")
curves = {}
for font in ("-", "/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2"):
    part = part0 if font == "-" else replace(part0, soundfont=find_soundfont(Path(font)))
    for e in prepare_excerpts(part, 24, 5.5, SR, 0, Path("/tmp/s12/cache"), log=lambda s: None):
        for k, v in descriptors(e.clean).items():
            curves.setdefault(k, {}).setdefault(font, []).append(v)
print("spread across pieces (std dB) per octave band, mean over the three fonts (within-font spread)")
print("band      " + " ".join(f"{lo:>6}" for lo in edges[:-1]))
for k, per in curves.items():
    row = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (f >= lo) & (f < hi)
        row.append(np.mean([np.std(np.array(c)[:, m].mean(axis=1)) for c in per.values()]))
    print(f"{k:9} " + " ".join(f"{r:6.2f}" for r in row))
