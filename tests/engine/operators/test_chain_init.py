import numpy as np
import pytest
import soundfile as sf

from shellac.engine.dsp.band_spectrum import band_grid
from shellac.engine.dsp.chain_model import ChainResponse, Resonance
from shellac.engine.dsp.ltas import Ltas, compute_ltas
from shellac.engine.operators.blind_filter import BlindFilter
from shellac.engine.operators.chain_init import chain_filter_start, project_to_blind_filter
from shellac.lab.evaluation.metrics import filter_error_db, log_grid
from shellac.lab.synthesis.notes import random_notes

SR = 22050
CHAIN = ChainResponse(250.0, 18.0, 4000.0, 40.0, (Resonance(700.0, 5.0, 3.0),))


def test_projection_is_close_to_the_chain_and_far_better_than_babe2_start():
    grid = band_grid(SR)
    params = project_to_blind_filter(CHAIN, SR, grid.centres_hz, np.ones(grid.centres_hz.size))
    f = log_grid(SR / 2)
    true = CHAIN.response_db(f)
    projected = filter_error_db(f, BlindFilter(SR, init=params).response_db(f), true, SR / 2)
    default = filter_error_db(f, BlindFilter(SR).response_db(f), true, SR / 2)
    assert projected < 2.0
    assert default > 10.0
    # Breakpoints near the chain's corners, in BABE-2's strict order.
    assert params.fc_m[1] < params.fc_m[0] < params.f_ref < params.fc_p[0] < params.fc_p[1]
    assert 150.0 < params.fc_m[0] < 400.0 and 2500.0 < params.fc_p[0] < 6000.0


def test_start_from_a_recording_file(tmp_path):
    rng = np.random.default_rng(0)
    clean = random_notes(rng, SR, 5.0)
    reference = Ltas(SR, 2048, compute_ltas(clean, SR, 2048).power)
    spec = np.fft.rfft(clean)
    gain = 10 ** (CHAIN.response_db(np.fft.rfftfreq(clean.size, 1 / SR)) / 20)
    observed = np.fft.irfft(spec * gain, clean.size) + 0.001 * rng.standard_normal(clean.size)
    sf.write(tmp_path / "y.wav", observed, SR, subtype="FLOAT")
    start = chain_filter_start(tmp_path / "y.wav", reference)
    assert start.params is not None and start.reason == ""
    assert start.chain is not None
    assert start.chain.highpass_hz == pytest.approx(250.0, rel=0.3)
    assert start.chain.lowpass_hz == pytest.approx(4000.0, rel=0.2)
    assert start.to_json()["params"]["fc_p"][0] > start.to_json()["params"]["f_ref"]


def test_steady_noise_keeps_babe2_start_with_a_reason(tmp_path):
    noise = 0.05 * np.random.default_rng(1).standard_normal(SR * 3)
    sf.write(tmp_path / "n.wav", noise, SR, subtype="FLOAT")
    reference = Ltas(SR, 2048, compute_ltas(noise, SR, 2048).power)
    start = chain_filter_start(tmp_path / "n.wav", reference)
    assert start.params is None and start.chain is None
    assert "noise floor" in start.to_json()["fallback_reason"]
