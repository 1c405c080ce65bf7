"""LSAR fill of flagged runs in a file: the runs restored, every other sample copied, edges refused."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.engine.dsp.lsar import levinson, lsar_fill
from shellac.engine.dsp.lsar_file import LsarSettings, fillable, interpolate, lsar_fill_file
from shellac.engine.errors import ParameterError

from ...conftest import SR, harmonic_tone


def _snr(clean: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean**2) / np.sum((estimate - clean) ** 2)))


def test_runs_are_filled_in_every_channel_and_nothing_else_moves(tmp_path: Path) -> None:
    clean = np.stack([harmonic_tone(1.0, noise=0.0), 0.5 * harmonic_tone(1.0, f0=330.0, noise=0.0)])
    runs = [(3000, 441), (9000, 220), (9400, 110)]  # 20 ms; then 10 and 5 ms, near enough to solve together
    given = clean.copy()
    for start, length in runs:
        given[:, start:start + length] = 0.0
    sf.write(tmp_path / "in.wav", given.T.astype(np.float32), SR, subtype="FLOAT")
    stats = lsar_fill_file(tmp_path / "in.wav", runs, tmp_path / "out.wav", LsarSettings())
    out = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)[0].T
    flagged = np.zeros(clean.shape[1], dtype=bool)
    for start, length in runs:
        flagged[start:start + length] = True
    assert np.array_equal(out[:, ~flagged], given[:, ~flagged].astype(np.float32))
    for ch in range(2):
        for start, length in runs:
            gap = slice(start, start + length)
            assert _snr(clean[ch, gap], out[ch, gap]) > 30.0  # a steady tone: AR interpolation is near exact
    assert stats.peak == pytest.approx(float(np.abs(out).max()))


def test_edges() -> None:
    assert fillable(512, 100, 2000, 512) and not fillable(511, 100, 2000, 512)
    assert fillable(1000, 488, 2000, 512) and not fillable(1000, 489, 2000, 512)
    assert LsarSettings().samples(22050) == (512, 4097) and LsarSettings().samples(44100) == (1023, 8194)
    with pytest.raises(ParameterError):
        LsarSettings(order_ms=200.0, context_ms=100.0)


def test_a_run_without_enough_intact_samples_is_refused(tmp_path: Path) -> None:
    sf.write(tmp_path / "in.wav", harmonic_tone(0.5).astype(np.float32), SR, subtype="FLOAT")
    with pytest.raises(ParameterError, match="intact samples"):
        lsar_fill_file(tmp_path / "in.wav", [(10, 50)], tmp_path / "out.wav", LsarSettings())


def test_runs_left_to_another_filler_are_kept_out_of_the_model_and_away_from_the_fill(tmp_path: Path) -> None:
    clean = harmonic_tone(1.0, noise=0.0)
    given = clean.copy()
    given[3000:3441] = 0.0  # to fill
    given[6000:8205] = 0.0  # 100 ms left to the prior: inside the first run's context, outside its cluster
    sf.write(tmp_path / "in.wav", given.astype(np.float32), SR, subtype="FLOAT")
    lsar_fill_file(tmp_path / "in.wav", [(3000, 441)], tmp_path / "out.wav", LsarSettings(),
                   avoid=[(6000, 2205)])
    out = sf.read(tmp_path / "out.wav", dtype="float32")[0]
    assert _snr(clean[3000:3441], out[3000:3441]) > 30.0
    assert not out[6000:8205].any()  # left as it was, for the prior
    with pytest.raises(ParameterError, match="within 512 samples"):
        lsar_fill_file(tmp_path / "in.wav", [(3000, 441)], tmp_path / "out2.wav", LsarSettings(),
                       avoid=[(3600, 100)])


@pytest.mark.parametrize("holes", [[], [(200, 300), (700, 750)]])
def test_interpolate_solves_the_declickers_equations_at_their_own_size(holes: list[tuple[int, int]]) -> None:
    """The same fill as ``lsar_fill`` (padded, dense) to 1e-9, for a span missing whole (Levinson) and one
    with known samples inside (dense on the unknowns)."""
    rng = np.random.default_rng(3)
    x = harmonic_tone(1.0, noise=0.0) + 1e-3 * rng.standard_normal(SR)
    first, stop, order = 5000, 6100, 512
    missing = np.zeros(SR, dtype=bool)
    missing[first:stop] = True
    for a, b in holes:
        missing[first + a:first + b] = False
    given = np.where(missing, 0.0, x)
    acf = np.correlate(given[first - 4096:first], given[first - 4096:first], "full")[4095:4096 + order]
    coeffs, _ = levinson(acf[None, :], order)
    expected = lsar_fill(given, missing, np.array([first]), np.array([stop]), coeffs)
    got = interpolate(given, missing, first, stop, coeffs[0])
    assert np.max(np.abs(got - expected)) < 1e-9 * np.max(np.abs(expected[missing]))
    assert np.array_equal(got[~missing], given[~missing])
    assert _snr(x[missing], got[missing]) > 30.0
    with pytest.raises(ParameterError, match="intact samples"):
        interpolate(given, missing, 100, 200, coeffs[0])
