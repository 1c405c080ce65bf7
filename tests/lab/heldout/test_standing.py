"""A model's held-out standing taken from a benchmark report: win rates, means, and what is refused."""

import copy
from pathlib import Path
from typing import Any

import pytest

from shellac.catalogs.loader import load_catalog
from shellac.engine.errors import ParameterError
from shellac.engine.models.bundle import read_card
from shellac.engine.models.standing import chain_settings
from shellac.jobs import build_job
from shellac.lab.heldout.standing import profile_model, standing_from_report
from shellac.stages.chain import job_plan
from shellac.stages.param_defaults import as_measured

Pair = tuple[float, float]


def _scores(access: Pair, ltas_eq: Pair, inp: Pair) -> dict[str, Any]:
    return {row: {"lsd_db": v[0], "ltas_err_db": v[1]}
            for row, v in (("babe2_gated", access), ("ltas_eq", ltas_eq), ("input", inp))}


def _report(**settings: Any) -> dict[str, Any]:
    excerpts = [
        {"name": "00-a", "scores": _scores((5.0, 3.0), (6.0, 2.0), (9.0, 4.0))},
        {"name": "01-b", "scores": _scores((5.0, 3.0), (7.0, 4.0), (9.0, 2.0))},
        {"name": "02-c", "scores": _scores((8.0, 3.0), (6.0, 4.0), (7.0, 4.0))},
        {"name": "03-d", "scores": _scores((6.0, 1.0), (7.0, 2.0), (9.0, 4.0))},
    ]
    return {"context": {"git_commit": "f" * 40, "command": "shellac bench-heldout --excerpts 4"},
            "settings": {"name": "heldout-t", "part": "benchmark", "overrides": {},
                         "composers": ["joplin"], "soundfont": "Font.sf3", "seconds": 5.5,
                         "sample_rate": 22050, "seed": 0, **settings},
            "excerpts": excerpts}


def test_piano_report_gives_win_rates_and_means() -> None:
    standing = standing_from_report(_report(), profile_model("piano"))
    assert standing.excerpts == 4 and standing.git_commit == "f" * 40 and standing.profile == "piano"
    assert standing.wins_percent == {"vs_ltas_eq": {"lsd": 75.0, "ltas_err": 75.0},
                                     "vs_input": {"lsd": 75.0, "ltas_err": 75.0}}
    assert standing.means_db["access"] == {"lsd_db": 6.0, "ltas_err_db": 2.5}
    assert standing.means_db["ltas_eq"] == {"lsd_db": 6.5, "ltas_err_db": 3.0}
    assert standing.means_db["input"] == {"lsd_db": 8.5, "ltas_err_db": 3.5}
    assert "Font.sf3, 4 excerpts of 5.5 s" in standing.measured_on
    assert standing.shortfalls() == ["LSD vs LTAS-EQ 75 %", "LTAS error vs LTAS-EQ 75 %",
                                     "LSD vs the untouched input 75 %",
                                     "LTAS error vs the untouched input 75 %"]
    # A report without step_params: the profile as it is now, and the standing says so.
    assert standing.settings_source.startswith("profile 'piano' at record time")
    assert standing.settings["ltas_eq"]["method"] == "chain" and set(standing.settings) == {
        "denoise", "ltas_eq", "generative_eq"}
    assert standing.settings["generative_eq"]["model"] == "piano"
    kept = {"piano": {**standing.settings, "generative_eq": {"model": "piano", "n_steps": 8}}}
    from_report = standing_from_report(_report(step_params=kept), "piano")
    assert from_report.settings == kept["piano"] and from_report.settings_source == "report heldout-t"


def test_the_measure_beside_the_bar_is_kept_when_every_row_scored_it() -> None:
    report = _report()
    for excerpt, values in zip(report["excerpts"], ((1.0, 2.0, 0.5), (1.0, 0.5, 2.0), (1.0, 2.0, 2.0),
                                                    (3.0, 2.0, 2.0)), strict=True):
        for row, value in zip(("babe2_gated", "ltas_eq", "input"), values, strict=True):
            excerpt["scores"][row]["ltas_err_within30_db"] = value
    standing = standing_from_report(report, "piano")
    assert standing.wins_percent["vs_ltas_eq"]["ltas_err_within30"] == 50.0
    assert standing.wins_percent["vs_input"]["ltas_err_within30"] == 50.0
    assert standing.means_db["access"]["ltas_err_within30_db"] == 1.5
    assert standing.means_db["input"]["ltas_err_within30_db"] == 1.625
    assert standing.wins_percent["vs_input"]["ltas_err"] == 75.0  # the bar's measures as before
    # One row short of it on one excerpt: the measure is left out, not half counted.
    del report["excerpts"][3]["scores"]["input"]["ltas_err_within30_db"]
    partial = standing_from_report(report, "piano")
    assert set(partial.wins_percent["vs_input"]) == {"lsd", "ltas_err"}
    assert set(partial.means_db["access"]) == {"lsd_db", "ltas_err_db"}


def test_voice_report_counts_only_the_models_singers() -> None:
    report = _report(kind="voice", models={"tenor": "tenor", "soprano": "soprano"}, soundfont=None)
    for excerpt, voice in zip(report["excerpts"], ("tenor", "soprano", "tenor", "soprano"), strict=True):
        excerpt["name"] += f"-{voice}"
    tenor = standing_from_report(report, "tenor")
    assert tenor.excerpts == 2 and "sung by tenor" in tenor.measured_on and tenor.profile == "voice"
    assert tenor.settings["generative_eq"]["model"] == "tenor"
    assert tenor.settings["ltas_eq"]["reference"] == "model:tenor"
    assert tenor.wins_percent["vs_ltas_eq"] == {"lsd": 50.0, "ltas_err": 50.0}
    assert tenor.wins_percent["vs_input"] == {"lsd": 50.0, "ltas_err": 100.0}
    with pytest.raises(ParameterError, match="not 'voice'"):
        standing_from_report(report, "voice")


@pytest.mark.parametrize(("change", "message"), [
    ({"part": "validation"}, "benchmark part only"),
    ({"overrides": {"generative_eq": {"xi": 2.0}}}, "shipped profiles"),
])
def test_reports_not_of_the_shipped_path_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        standing_from_report(_report(**change), "piano")


def test_wrong_model_or_missing_rows_are_refused() -> None:
    with pytest.raises(ParameterError, match="not a bench-heldout report: it has no settings, excerpts"):
        standing_from_report({"context": {}}, "piano")
    with pytest.raises(ParameterError, match="restored with model 'piano', not 'tenor'"):
        standing_from_report(_report(), "tenor")
    report = copy.deepcopy(_report())
    for excerpt in report["excerpts"]:
        del excerpt["scores"]["input"]
    with pytest.raises(ParameterError, match=r"lacks the rows \['input'\]"):
        standing_from_report(report, "piano")


def test_demo_rows_depart_from_their_standing_only_where_the_demo_says() -> None:
    """The shipped cards' settings against the demo catalog's jobs: the CPU sampler settings, and
    for the accompanied lines (voice-accompaniment-mix) the plain LTAS-EQ, named one by one."""
    catalog = load_catalog(Path("catalogs/demo"))
    seen = {}
    for row in catalog.recordings:
        plan = job_plan(build_job(catalog, row))
        model = str(plan.step("generative_eq").params.model)  # type: ignore[attr-defined]
        standing = read_card(Path("models") / model).heldout
        assert standing is not None and standing.settings
        run = chain_settings((s.stage, s.params.model_dump(mode="json")) for s in plan.steps)
        # As the stage reports it: parameters added since the measurement count at their defaults.
        seen[row.id] = standing.model_copy(update={"settings": as_measured(standing.settings, run)}
                                           ).differences(run)
        # A parameter added after a card was recorded shows as "(measured None)" until the stage fills
        # it in at its default; those (where the run has it at the default) are the only differences
        # the filling-in removes.
        raw = standing.differences(run)
        added = [d for d in raw if d.endswith("(measured None)") and d not in seen[row.id]]
        for entry in added:
            stage, key = entry.split()[0].split(".", 1)
            assert key not in standing.settings[stage]
        assert [d for d in raw if d not in added] == seen[row.id]
    sampler = ["generative_eq.filter_iters 30 (measured 100)", "generative_eq.n_steps 20 (measured 51)"]
    # The piano and voice standings were measured with the profiles as shipped (sessions 28 and 30).
    assert seen["piano-01"] == seen["piano-02"] == seen["voice-03"] == sampler
    # The accompanied lines run plain LTAS-EQ (no chain fit, the spacing's default unused, the whole
    # curve), no balance pass (nor its range).
    assert seen["voice-01"] == seen["voice-02"] == [
        "generative_eq.consistency_balance 0.0 (measured 1.0)",
        "generative_eq.consistency_balance_in_range False (measured True)", *sampler,
        "ltas_eq.hiss_cut True (measured False)", "ltas_eq.max_boost_db 20.0 (measured 6.0)",
        "ltas_eq.method 'ltas' (measured 'chain')",
        f"ltas_eq.resonance_spacing_octaves {1 / 6!r} (measured 0.0)",
        "ltas_eq.strength 1.0 (measured 0.5)"]
