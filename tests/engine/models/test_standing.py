"""A bundle's held-out standing: its verdict against the 80 % bar, and its place in the card."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from shellac.engine.models.bundle import bundle_checksum, load_bundle, read_card
from shellac.engine.models.standing import HeldoutStanding, record_standing, standing_record

from ...fixtures.bundles import make_tiny_bundle


def _standing(**wins: float) -> HeldoutStanding:
    rates = {"vs_ltas_eq": {"lsd": 90.0, "ltas_err": 80.0}, "vs_input": {"lsd": 100.0, "ltas_err": 85.0}}
    for key, value in wins.items():
        against, measure = key.split("__")
        rates[against][measure] = value
    return HeldoutStanding(report="heldout-x", git_commit="abc", profile="piano",
                           measured_on="benchmark part", excerpts=20, wins_percent=rates,
                           means_db={"access": {"lsd_db": 5.0, "ltas_err_db": 3.0}})


def test_bar_is_eighty_percent_on_every_comparison_and_measure() -> None:
    assert _standing().shortfalls() == []  # 80 % exactly meets it
    assert _standing(vs_ltas_eq__ltas_err=70.8, vs_input__lsd=79.9).shortfalls() == [
        "LTAS error vs LTAS-EQ 70.8 %", "LSD vs the untouched input 79.9 %"]
    assert _standing().summary("piano").endswith("; at or above the 80 % bar")
    short = _standing(vs_ltas_eq__ltas_err=71.0).summary("p")
    assert "below the 80 % bar (LTAS error vs LTAS-EQ 71 %)" in short


def test_a_standing_needs_every_comparison_and_measure() -> None:
    with pytest.raises(ValidationError, match="lacks"):
        HeldoutStanding(report="r", git_commit="c", profile="p", measured_on="m", excerpts=1, means_db={},
                        wins_percent={"vs_ltas_eq": {"lsd": 1.0, "ltas_err": 1.0}, "vs_input": {"lsd": 1.0}})
    with pytest.raises(ValidationError, match=r"has measures \['si_sdr'\]"):
        _standing(vs_input__si_sdr=50.0)


def test_the_measure_beside_the_bar_is_said_and_never_decides_it() -> None:
    beside = _standing(vs_ltas_eq__ltas_err_within30=10.0, vs_input__ltas_err_within30=29.5)
    assert beside.shortfalls() == []
    assert beside.summary("piano").endswith(
        "; at or above the 80 % bar; beside the bar, on LTAS error within 30 dB of the clean maximum they "
        "beat LTAS-EQ in 10 % and the untouched input in 29.5 %")
    # Scored against one comparison only, it is not said.
    assert _standing(vs_input__ltas_err_within30=50.0).summary("piano").endswith("at or above the 80 % bar")


SETTINGS = {"denoise": {"prop_decrease": 0.8}, "ltas_eq": {"method": "chain", "max_boost_db": 20.0},
            "generative_eq": {"model": "piano", "n_steps": 51}}


def test_stage_record_with_and_without_a_standing() -> None:
    record = standing_record("piano", _standing(vs_ltas_eq__ltas_err=71.0), SETTINGS)
    assert record["below_bar"] is True and record["report"] == "heldout-x" and record["excerpts"] == 20
    assert record["profile"] == "piano" and "with profile 'piano'" in record["summary"]
    assert record["wins_percent"]["vs_ltas_eq"]["ltas_err"] == 71.0
    # A standing recorded before settings were kept says it cannot tell.
    assert record["settings_differ"] is None
    assert record["summary"].endswith("; the settings it was measured with were not recorded")
    none = standing_record("voice", None, SETTINGS)
    assert none["below_bar"] is None and "'voice' has no held-out standing" in none["summary"]


def test_stage_record_names_every_setting_that_departs_from_the_measured_chain() -> None:
    standing = _standing().model_copy(update={"settings": SETTINGS})
    same = standing_record("piano", standing, SETTINGS)
    assert same["settings_differ"] == [] and same["summary"] == standing.summary("piano")
    run = {"separate": {"model": "htdemucs"}, "ltas_eq": {"method": "ltas", "max_boost_db": 20.0},
           "generative_eq": {"model": "piano", "n_steps": 8, "sigma_y": 0.0}}
    differ = standing_record("piano", standing, run)["settings_differ"]
    assert differ == ["no denoise step (measured with one)", "ltas_eq.method 'ltas' (measured 'chain')",
                      "generative_eq.n_steps 8 (measured 51)", "generative_eq.sigma_y 0.0 (measured None)",
                      "a separate step the measured chain did not have"]
    assert standing_record("piano", standing, run)["summary"].endswith(
        "; this restoration's settings differ from those measured: " + ", ".join(differ))


def test_record_standing_keeps_weights_and_checksum(tmp_path: Path) -> None:
    bundle = make_tiny_bundle(tmp_path, "tiny")
    before_card, before_sum = read_card(bundle), bundle_checksum(bundle)
    record_standing(bundle, _standing())
    card = read_card(bundle)
    assert card.heldout is not None and card.heldout.wins_percent == _standing().wins_percent
    assert card.weights_sha256 == before_card.weights_sha256
    assert bundle_checksum(bundle) == before_sum
    assert load_bundle(bundle).card.heldout == card.heldout
