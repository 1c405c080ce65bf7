import numpy as np
import pytest

from shellac.engine.dsp.ltas import compute_ltas, third_octave_smooth
from shellac.engine.dsp.register import RegisterTable, build_register_table, register_reference
from shellac.engine.errors import ParameterError
from shellac.lab.synthesis import SungNote, render_melody
from shellac.lab.synthesis.singing import Voice

SR = 22050
N_FFT = 2048


def _line(pitches: list[float], vowel: str, seed: int) -> np.ndarray:
    notes = [SungNote(0.1 + 0.6 * i, 0.55, p, vowel) for i, p in enumerate(pitches)]
    return render_melody(notes, Voice(), sample_rate=SR, seed=seed, tail_s=0.2)


LOW = [48.0, 50.0, 52.0, 50.0, 48.0, 50.0]
HIGH = [62.0, 64.0, 65.0, 67.0, 65.0, 64.0]


@pytest.fixture(scope="module")
def table() -> RegisterTable:
    clips = [_line(LOW, v, 1 + i) for i, v in enumerate("aeo")]
    clips += [_line(HIGH, v, 9 + i) for i, v in enumerate("aeo")]
    return build_register_table(clips, SR, N_FFT)


def _distance_db(a: np.ndarray, b: np.ndarray) -> float:
    """RMS dB difference of third-octave smoothed spectra, 400 Hz-4 kHz (above both registers' f0)."""
    f = np.fft.rfftfreq(N_FFT, 1.0 / SR)
    band = (f > 400) & (f < 4000)
    d = 10 * np.log10(third_octave_smooth(a, SR, N_FFT)[band] / third_octave_smooth(b, SR, N_FFT)[band])
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


def test_the_table_holds_the_semitones_sung(table):
    assert set(LOW + HIGH) <= set(table.midi.tolist())
    assert table.unvoiced_frames > 0
    assert (table.frames >= 8).all()


def _mean_ltas(clips: list[np.ndarray]) -> np.ndarray:
    return np.mean([compute_ltas(c, SR, N_FFT).power for c in clips], axis=0)


@pytest.mark.parametrize(("pitches", "own", "other"), [([50.0, 48.0, 52.0, 48.0, 50.0, 52.0], "low", "high"),
                                                      ([64.0, 62.0, 67.0, 65.0, 62.0, 64.0], "high", "low")])
def test_a_line_gets_the_reference_of_its_own_register(table, pitches, own, other):
    # A new line (another singer's seed): its reference is the table's material in its own register,
    # not the material in the other one, nor the mean of both (a bundle's single LTAS).
    material = {"low": [_line(LOW, v, 1 + i) for i, v in enumerate("aeo")],
                "high": [_line(HIGH, v, 9 + i) for i, v in enumerate("aeo")]}
    line = _line(pitches, "a", 30)
    ref, summary = register_reference(table, line, SR)
    assert summary["median_midi"] == pytest.approx(np.median(pitches), abs=1.0)
    assert summary["voiced_share"] > 0.6
    assert _distance_db(ref.power, _mean_ltas(material[own])) < 0.6
    assert _distance_db(ref.power, _mean_ltas(material[other])) > 1.0
    both = _mean_ltas(material["low"] + material["high"])
    mine = _mean_ltas(material[own])
    assert _distance_db(ref.power, mine) < 0.6 * _distance_db(both, mine)


def test_a_semitone_the_table_lacks_borrows_the_nearest_row(table):
    assert table.midi.tolist() == [48, 49, 50, 52, 62, 64, 65, 66, 67]
    assert table.midi[table.row_for(np.array([40.0, 56.0, 63.0, 90.0]))].tolist() == [48, 52, 62, 67]


def test_the_table_round_trips_through_json(table):
    again = RegisterTable.from_json_dict(table.to_json_dict())
    assert np.allclose(again.power, table.power)
    assert again.midi.tolist() == table.midi.tolist()
    assert again.unvoiced_frames == table.unvoiced_frames


def test_unusable_input_is_refused(table):
    with pytest.raises(ParameterError, match="no sung pitch"):
        register_reference(table, np.random.default_rng(0).normal(0, 0.1, SR * 2), SR)
    with pytest.raises(ParameterError, match="Hz"):
        register_reference(table, _line(LOW, "a", 1), 44100)
    with pytest.raises(ParameterError, match="malformed"):
        RegisterTable.from_json_dict({"sample_rate": SR})
