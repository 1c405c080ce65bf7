"""Held-out benchmark parts that need no rendering: chains, spectral balance, rows, wins, gate agreement."""

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from shellac.cli.heldout import _visqol
from shellac.engine.errors import ParameterError
from shellac.lab.degradation import degrade
from shellac.lab.evaluation.spectral_balance import (
    BALANCE_N_FFT,
    band_energy_db,
    ltas_curve_error_db,
    ltas_error_db,
    smoothed_ltas_db,
)
from shellac.lab.evaluation.visqol import Visqol
from shellac.lab.heldout import sweep as sweep_module
from shellac.lab.heldout.bench import (
    BenchOutcome,
    Row,
    gate_agreement,
    kind_rows,
    select_rows,
    win_rate,
    with_overrides,
)
from shellac.lab.heldout.chains import heldout_chain
from shellac.lab.heldout.material import RenderSpec, cached_excerpt, load_heldout, store_excerpt
from shellac.lab.heldout.runner import ChainRun, HeldoutExcerpt, score
from shellac.lab.heldout.sweep import GridPoint, choose, grid

SR = 22050


def test_chains_are_seeded_and_match_the_issue() -> None:
    a = heldout_chain(np.random.default_rng([0, 1, 1]), SR, 5.5)
    assert a == heldout_chain(np.random.default_rng([0, 1, 1]), SR, 5.5)
    assert 25.0 <= (a.hiss_snr_db or 0) <= 40.0 and a.crackle_rate_hz == 0.0
    assert 1 <= len(a.resonances) <= 2 and a.click_amplitude == (0.2, 0.6)
    x = np.random.default_rng(0).standard_normal(int(5.5 * SR)) * 0.1
    result = degrade(x, SR, a, np.random.default_rng(2))
    assert result.click_widths_samples.size > 0
    assert result.click_widths_samples.min() >= 3 and result.click_widths_samples.max() <= 30


def test_spectral_balance_of_a_known_filter() -> None:
    rng = np.random.default_rng(1)
    clean = rng.standard_normal(SR * 3)
    freqs = np.fft.rfftfreq(4096, 1 / SR)
    flat = np.zeros_like(freqs)
    assert ltas_error_db(clean, clean, SR, freqs, flat) == pytest.approx(0.0, abs=1e-9)
    # Removing everything above 4 kHz leaves about 4/11 of white noise's power: the share below rises.
    spec = np.fft.rfft(clean)
    spec[np.fft.rfftfreq(clean.size, 1 / SR) > 4000] = 0
    lowpassed = np.fft.irfft(spec, clean.size)
    assert band_energy_db(clean, lowpassed, SR, 20.0, 4000.0) == pytest.approx(
        10 * np.log10(11025 / 3980), abs=0.3)
    assert band_energy_db(clean, lowpassed, SR, 4500.0, SR / 2) < -40
    assert ltas_error_db(clean, lowpassed, SR, freqs, flat) > 10
    # the same measure on curves: a level offset does not count, a tilt does
    clean_db = smoothed_ltas_db(clean, SR)
    assert ltas_curve_error_db(clean_db, smoothed_ltas_db(lowpassed, SR), SR, freqs, flat) == (
        ltas_error_db(clean, lowpassed, SR, freqs, flat))
    assert ltas_curve_error_db(clean_db, clean_db + 7.0, SR, freqs, flat) == pytest.approx(0.0, abs=1e-9)
    bins = np.fft.rfftfreq(BALANCE_N_FFT, 1 / SR)  # the curves' bins
    tilted = clean_db + 3.0 * np.log2(np.maximum(bins, 50.0) / 1000.0)  # 3 dB per octave
    # a ramp over the log grid's 50 Hz ... Nyquist: its RMS about the mean is its range over sqrt(12)
    assert ltas_curve_error_db(clean_db, tilted, SR, freqs, flat) == pytest.approx(
        3.0 * np.log2(SR / 2 / 50.0) / np.sqrt(12.0), abs=0.05)


def test_the_measure_within_30_db_leaves_out_the_bands_far_under_the_music() -> None:
    bins = np.fft.rfftfreq(BALANCE_N_FFT, 1 / SR)
    freqs = np.fft.rfftfreq(4096, 1 / SR)
    flat = np.zeros_like(freqs)
    # music filling 300 Hz-3 kHz, 40 dB under it elsewhere; the estimate 12 dB short below 150 Hz only
    clean_db = np.where((bins >= 300) & (bins <= 3000), 0.0, -40.0)
    estimate_db = clean_db - 12.0 * (bins < 150)
    plain = ltas_curve_error_db(clean_db, estimate_db, SR, freqs, flat)
    assert plain > 3.0
    within = ltas_curve_error_db(clean_db, estimate_db, SR, freqs, flat, within_db=30.0)
    assert within == pytest.approx(0.0, abs=1e-9)
    # inside the bands the music fills both measures see the error alike
    estimate_db = clean_db - 12.0 * ((bins >= 300) & (bins < 600))
    # (one octave of 3.32 there, of 7.78 from 50 Hz to Nyquist: 12 dB x sqrt(f (1 - f)) with f that share)
    for within_db, octaves in ((30.0, np.log2(3000 / 300)), (None, np.log2(SR / 2 / 50))):
        f = 1.0 / octaves
        error = ltas_curve_error_db(clean_db, estimate_db, SR, freqs, flat, within_db=within_db)
        assert error == pytest.approx(12.0 * np.sqrt(f * (1 - f)), abs=0.25)


def test_score_splits_the_high_band_from_the_top_of_the_pass_band() -> None:
    rng = np.random.default_rng(1)
    clean = rng.standard_normal(SR * 3)
    params = heldout_chain(np.random.default_rng([0, 1, 1]), SR, 3.0)
    freqs = np.fft.rfftfreq(4096, 1 / SR)
    excerpt = HeldoutExcerpt("x", "s", clean, clean, SR, params, freqs, np.zeros_like(freqs), Path("m.wav"))
    assert score(excerpt, clean)["top_octave_db"] == pytest.approx(0.0, abs=1e-9)
    # Doubling the octave below the cut-off (+6 dB) moves that column and leaves the band above alike.
    spec = np.fft.rfft(clean)
    f = np.fft.rfftfreq(clean.size, 1 / SR)
    spec[(f >= params.lowpass_hz / 2) & (f < params.lowpass_hz)] *= 2.0
    louder = score(excerpt, np.fft.irfft(spec, clean.size))
    share = float(np.mean((f >= params.lowpass_hz / 2) & (f < params.lowpass_hz)))
    assert louder["top_octave_db"] == pytest.approx(10 * np.log10(4 / (1 + 3 * share)), abs=0.2)
    assert louder["high_band_db"] == pytest.approx(-10 * np.log10(1 + 3 * share), abs=0.2)


def _outcome(gen: list[tuple[float, float]], base: list[tuple[float, float]], fallbacks: list[bool]
             ) -> BenchOutcome:
    rows = [Row("ltas_eq", "LTAS-EQ", ChainRun("piano-ltas")),
            Row("babe2", "BABE-2", ChainRun("piano"), "generative")]
    outcome = BenchOutcome(rows, [])
    pad = {"high_band_db": 0.0, "top_octave_db": 0.0, "low_band_db": 0.0, "si_sdr_db": 0.0}
    outcome.scores = {"babe2": [{"lsd_db": a, "ltas_err_db": b, **pad} for a, b in gen],
                      "ltas_eq": [{"lsd_db": a, "ltas_err_db": b, **pad} for a, b in base]}
    outcome.gates = {"babe2": [{"fallback": f, "checks": []} for f in fallbacks],
                     "ltas_eq": [None] * len(base)}
    return outcome


def test_win_rates_and_gate_agreement() -> None:
    outcome = _outcome([(10, 3), (12, 9), (9, 8)], [(11, 4), (11, 4), (10, 7)], [False, True, False])
    assert outcome.win_rates("babe2", "ltas_eq") == pytest.approx(
        {"lsd": 200 / 3, "ltas_err": 100 / 3, "both": 100 / 3})
    assert "visqol" not in outcome.win_rates("babe2", "ltas_eq")  # a report scored without it
    for row, mos in (("babe2", (3.9, 3.1, 3.5)), ("ltas_eq", (3.5, 3.4, 3.5))):
        for s, m in zip(outcome.scores[row], mos, strict=True):
            s["visqol_moslqo"] = m
    assert outcome.win_rates("babe2", "ltas_eq")["visqol"] == pytest.approx(100 / 3)  # higher wins; ties lose
    counts = gate_agreement(outcome)["counts"]  # type: ignore[index]
    assert counts == {"fallback_and_worse": 1, "fallback_but_better": 0, "kept_but_worse": 1,
                      "kept_and_better": 1}
    assert outcome.means()["babe2"]["lsd_db"] == pytest.approx(31 / 3)


def test_win_rate_direction_ties_and_refusal() -> None:
    a = [{"lsd_db": 5.0, "visqol_moslqo": 3.0}, {"lsd_db": 7.0, "visqol_moslqo": 4.0}]
    b = [{"lsd_db": 6.0, "visqol_moslqo": 3.0}, {"lsd_db": 7.0, "visqol_moslqo": 3.5}]
    assert win_rate(a, b, "lsd_db") == 50.0  # lower wins; the tie loses
    assert win_rate(a, b, "visqol_moslqo") == 50.0  # higher wins; the tie loses
    assert win_rate(b, a, "visqol_moslqo") == 0.0
    with pytest.raises(ParameterError, match="si_sdr_db"):
        win_rate(a, b, "si_sdr_db")
    with pytest.raises(ValueError):
        win_rate(a, b[:1], "lsd_db")  # excerpts must pair up

def test_sweep_chooses_the_lowest_objective() -> None:
    points = grid([8], [0.0, 0.25], [1.0])
    assert [p.key for p in points] == ["N8_sy0_xi1", "N8_sy0.25_xi1"]
    outcome = _outcome([], [(11, 4), (11, 4)], [])
    del outcome.scores["babe2"]
    pad = {"high_band_db": 0.0, "top_octave_db": 0.0, "low_band_db": 0.0, "si_sdr_db": 0.0}
    outcome.scores["input"] = [{"lsd_db": 9.0, "ltas_err_db": 3.0, **pad}] * 2
    outcome.scores["N8_sy0_xi1"] = [{"lsd_db": 10.0, "ltas_err_db": 5.0, **pad}] * 2
    outcome.scores["N8_sy0.25_xi1"] = [{"lsd_db": 14.0, "ltas_err_db": 5.0, **pad}] * 2
    best, table = choose(outcome, points)
    assert best == GridPoint(8, 0.0, 1.0)
    assert table["N8_sy0_xi1"]["objective"] == 15.0 and table["ltas_eq"]["objective"] == 15.0


def test_the_guidance_sweep_passes_visqol_and_workers_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_run_bench(excerpts, rows, models_dir, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen["rows"], seen["visqol"] = [r.key for r in rows], kwargs.get("visqol")
        seen["workers"] = kwargs.get("workers")
        return "outcome"

    monkeypatch.setattr(sweep_module, "run_bench", fake_run_bench)  # the sweep's rows, not their runs
    visqol = Visqol()
    points = grid([8], [0.0], [1.0])
    assert sweep_module.run_sweep([], points, Path("m"), visqol=visqol, workers=2) == "outcome"
    assert seen == {"rows": ["input", "ltas_eq", "N8_sy0_xi1"], "visqol": visqol, "workers": 2}
    assert _visqol(argparse.Namespace(visqol="off")) == (None, None)
    scorer, name = _visqol(argparse.Namespace(visqol="on"))
    assert isinstance(scorer, Visqol) and name is not None and name.startswith("visqol-python ")


def test_workers_option_refuses_fewer_than_one_process(capsys: pytest.CaptureFixture[str]) -> None:
    from shellac.cli.main import build_parser

    parser = build_parser()
    assert parser.parse_args(["bench-heldout", "--workers", "2"]).workers == 2
    assert parser.parse_args(["bench-guidance"]).workers == 1
    for bad in ("0", "two"):
        with pytest.raises(SystemExit):
            parser.parse_args(["bench-heldout", "--workers", bad])
        assert "--workers" in capsys.readouterr().err


def test_rows_and_overrides_follow_the_profiles() -> None:
    # The piano "chain EQ alone" row is the shipped piano-chain profile; the voice one, with no voice
    # chain profile shipped, the LTAS-EQ profile with the chain method.
    assert kind_rows("piano")["chain_eq"].run == ChainRun("piano-chain")
    assert kind_rows("piano")["chain_eq"].label == "chain EQ alone (profile piano-chain)"
    voice = kind_rows("voice")["chain_eq"]
    assert voice.run == ChainRun("voice-ltas", {"ltas_eq": {"method": "chain"}})
    assert voice.label == "chain EQ alone (profile voice-ltas, ltas_eq.method = chain)"
    assert [r.key for r in select_rows(["babe2", "input"])] == ["input", "babe2"]
    with pytest.raises(ParameterError, match="unknown rows"):
        select_rows(["nope"])
    overrides = {"generative_eq": {"n_steps": 8, "sigma_y": 0.5}, "denoise": {"prop_decrease": 0.5}}
    assert with_overrides(ChainRun("piano-ltas"), overrides).overrides == {"denoise": {"prop_decrease": 0.5}}
    piano = with_overrides(ChainRun("piano", {"generative_eq": {"sigma_y": 0.0}}), overrides)
    assert piano.overrides["generative_eq"] == {"n_steps": 8, "sigma_y": 0.0}  # the row's own value wins
    assert piano.key() != ChainRun("piano").key()
    # One setting written two ways is one run, one work folder; another value is another.
    slope = {"noise_profile": "minimum", "noise_floor_slope_db": 6}
    assert (ChainRun("piano", {"denoise": slope}).key()
            == ChainRun("piano", {"denoise": {**slope, "noise_floor_slope_db": 6.0}}).key()
            != ChainRun("piano", {"denoise": {**slope, "noise_floor_slope_db": 7}}).key())
    assert ChainRun("piano").key() == "piano-" + hashlib.sha256(
        json.dumps({"profile": "piano", "overrides": {}}, sort_keys=True).encode()).hexdigest()[:10]


def test_heldout_parts_and_render_keys() -> None:
    part = load_heldout("benchmark", path=Path("catalogs/heldout.toml"))
    assert part.soundfont.name == "MuseScore_General_Full.sf3" and "joplin" in part.composers
    assert not set(part.composers) & set(load_heldout("validation").composers)
    with pytest.raises(ParameterError):
        load_heldout("training")
    spec = RenderSpec("joplin/maple_leaf_rag.mxl", str(part.soundfont), SR, 5.5, 1)
    assert spec.key() == RenderSpec("joplin/maple_leaf_rag.mxl", str(part.soundfont), SR, 5.5, 1).key()
    assert spec.key() != RenderSpec("joplin/maple_leaf_rag.mxl", str(part.soundfont), SR, 5.5, 2).key()


def test_a_fresh_excerpt_is_the_samples_a_cached_one_reads_back(tmp_path: Path) -> None:
    """Scores must not depend on whether the cache was warm (session 18: a fresh run differed by 1e-6 dB)."""
    rng = np.random.default_rng(0)
    excerpt = 0.3 * rng.standard_normal(SR)  # float64 samples that float32 cannot hold exactly
    target = tmp_path / "renders" / "x.wav"
    fresh = store_excerpt(excerpt.copy(), SR, target)
    cached = cached_excerpt(target)
    assert cached is not None and fresh.dtype == np.float64
    assert np.array_equal(fresh, cached) and not np.array_equal(fresh, excerpt)
    assert [p.name for p in target.parent.iterdir()] == ["x.wav"]  # written atomically, no stray file


def test_bench_soundfont_option_replaces_the_held_out_font_for_piano_only() -> None:
    import argparse

    from shellac.cli.heldout import heldout_part

    args = argparse.Namespace(part="validation", kind="piano", soundfont=Path("FluidR3_GM.sf2"))
    part = heldout_part(args)
    assert part.soundfont == Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
    assert part.composers == load_heldout("validation").composers  # the same works, another instrument
    assert heldout_part(argparse.Namespace(part="validation", kind="piano", soundfont=None)).soundfont.name \
        == "MuseScore_General_Full.sf3"
    with pytest.raises(ParameterError, match="--soundfont is for piano material; voice material is sung"):
        heldout_part(argparse.Namespace(part="validation", kind="voice", soundfont=Path("FluidR3_GM.sf2")))


def test_score_adds_visqol_when_given() -> None:
    """ViSQOL (in the lock) scores a clean copy near its ceiling and a hissy, band-limited one far lower."""
    t = np.arange(SR * 2) / SR
    clean = sum(np.sin(2 * np.pi * f * t) * np.exp(-((t % 0.5) * 6)) for f in (262.0, 523.0, 1568.0, 3136.0))
    params = heldout_chain(np.random.default_rng([0, 1, 1]), SR, 2.0)
    freqs = np.fft.rfftfreq(4096, 1 / SR)
    excerpt = HeldoutExcerpt("x", "s", clean, clean, SR, params, freqs, np.zeros_like(freqs), Path("m.wav"))
    assert "visqol_moslqo" not in score(excerpt, clean)
    visqol = Visqol()
    same = score(excerpt, clean, visqol)["visqol_moslqo"]
    spec = np.fft.rfft(clean)
    spec[np.fft.rfftfreq(clean.size, 1 / SR) > 1000.0] = 0.0
    dull = np.fft.irfft(spec, clean.size) + 0.05 * np.random.default_rng(3).standard_normal(clean.size)
    worse = score(excerpt, dull, visqol)["visqol_moslqo"]
    assert 4.5 < same <= 5.0 and 1.0 <= worse < same - 1.0


def test_first_option_keeps_the_excerpts_a_run_from_zero_has(monkeypatch: pytest.MonkeyPatch) -> None:
    from shellac.cli import heldout as cli_heldout
    from shellac.cli.main import build_parser
    from shellac.lab.heldout import runner

    seen: list[tuple[int, int]] = []

    def prepare(part, n, *args, first=0, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append((first, n))  # only excerpts first..n-1 are made, each as in a run from 0
        return [f"excerpt {i}" for i in range(first, n)]

    monkeypatch.setattr(runner, "prepare_excerpts", prepare)
    parser = build_parser()
    args = parser.parse_args(["bench-heldout", "--first", "3", "--excerpts", "5"])
    assert cli_heldout._excerpts(args, None) == ["excerpt 3", "excerpt 4"] and seen == [(3, 5)]
    assert parser.parse_args(["bench-guidance"]).first == 0
    for first in ("5", "-1"):
        bad = parser.parse_args(["bench-heldout", "--first", first, "--excerpts", "5"])
        with pytest.raises(ParameterError, match=f"--first {first} must lie in 0..4"):
            cli_heldout._excerpts(bad, None)
    assert seen == [(3, 5)]  # refused before anything is rendered
