"""Loudness and true peak measured chunk by chunk equal the whole-signal measurements to the bit."""

import numpy as np
import pytest

from shellac.engine.dsp.loudness import block_loudness, integrated_loudness, sample_peak_dbfs, true_peak_dbtp
from shellac.engine.dsp.loudness_meter import LoudnessMeter, PeakMeter
from shellac.engine.errors import ParameterError


@pytest.mark.parametrize(("sample_rate", "chunk"), [(8000, 5001), (11025, 64), (44100, 44100 * 3 + 17)])
def test_chunked_measurements_are_the_whole_signals(sample_rate: int, chunk: int) -> None:
    rng = np.random.default_rng(sample_rate)
    x = 0.1 * rng.standard_normal((2, sample_rate * 3 + 17))
    x[:, sample_rate:sample_rate + 400] *= 9  # a loud burst, so the gates and the peaks have work
    loudness, peaks = LoudnessMeter(sample_rate, 2), PeakMeter()
    for start in range(0, x.shape[1], chunk):
        loudness.update(x[:, start:start + chunk])
        peaks.update(x[:, start:start + chunk])
    np.testing.assert_array_equal(loudness.block_loudness(), block_loudness(x, sample_rate))
    assert loudness.integrated() == integrated_loudness(x, sample_rate)
    assert peaks.true_peak_dbtp() == true_peak_dbtp(x) and peaks.sample_peak_dbfs() == sample_peak_dbfs(x)


def test_shorter_than_a_block_is_refused_and_silence_has_no_peak() -> None:
    meter, peaks = LoudnessMeter(8000, 1), PeakMeter()
    meter.update(np.zeros((1, 3199)))
    peaks.update(np.zeros((1, 3199)))
    with pytest.raises(ParameterError, match="shorter than one 400 ms loudness block"):
        meter.integrated()
    assert peaks.true_peak_dbtp() == float("-inf") and peaks.sample_peak_dbfs() == float("-inf")
