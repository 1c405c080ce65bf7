"""Profiles resolve into validated plans; bad profiles are clear errors."""

from pathlib import Path

import pytest

from shellac.stages.profiles import ProfileError, builtin_profile_names, load_plan
from shellac.stages.registry import UnknownStageError


def test_builtin_profiles_load() -> None:
    assert {"ltas-only", "piano", "piano-ltas", "voice", "voice-ltas"} <= set(builtin_profile_names())
    plan = load_plan("voice-ltas")
    assert [s.stage for s in plan.steps] == ["ingest", "denoise", "ltas_eq", "tag"]
    assert plan.step("ltas_eq").params.n_fft == 4096
    voice = load_plan("voice").step("generative_eq").params
    # The paper's Table 3 voice values.
    values = (voice.sigma_start, voice.sigma_min, voice.xi, voice.sigma_y, voice.n_steps)
    assert values == (10.0, 1e-3, 0.5, 1.0, 51)
    # The posterior consistency step, then the EQ'd input's long-term balance (session 21).
    assert (voice.consistency, voice.consistency_balance) == ("posterior", 1.0)
    # Its EQ is the gentle chain EQ chosen on the validation works (session 12), half of it applied
    # (session 22); voice-ltas keeps BABE-2's LTAS-EQ, whole, as the baseline it is compared with.
    eq = load_plan("voice").step("ltas_eq").params
    got = (eq.method, eq.max_boost_db, eq.hiss_cut, eq.n_fft, eq.strength)
    assert got == ("chain", 6.0, False, 4096, 0.5)
    assert (plan.step("ltas_eq").params.method, plan.step("ltas_eq").params.strength) == ("ltas", 1.0)


def test_piano_chain_is_piano_without_its_generative_step() -> None:
    # piano-chain is what the held-out benchmark scores as "chain EQ alone"
    # (tests/lab/heldout/test_heldout.py), and the EQ that piano's generative step starts from: the two
    # stay in step.
    chain = load_plan("piano-chain")
    assert [s.stage for s in chain.steps] == ["ingest", "denoise", "ltas_eq", "tag"]
    piano = load_plan("piano")
    for stage in ("denoise", "ltas_eq", "tag"):
        assert chain.step(stage).params == piano.step(stage).params
    assert chain.step("ltas_eq").params.method == "chain"
    # Since session 35 the piano chains' denoise reads the hiss from each band's quietest stretches,
    # slope-limited (docs/heldout_benchmark.md); piano-ltas, the simple method they are compared
    # with, keeps the quietest frames, and is otherwise the same chain with the LTAS method.
    for name in ("piano", "piano-chain", "piano-declip"):
        denoise = load_plan(name).step("denoise").params
        assert (denoise.noise_profile, denoise.noise_floor_slope_db) == ("minimum", 6.0)
    simple = load_plan("piano-ltas")
    assert (simple.step("denoise").params.noise_profile, simple.step("ltas_eq").params.method) == (
        "quietest", "ltas")
    assert simple.step("denoise").params.model_copy(
        update={"noise_profile": "minimum", "noise_floor_slope_db": 6.0}) == chain.step("denoise").params


def test_overrides_apply_and_validate() -> None:
    plan = load_plan("piano-ltas", overrides={"denoise": {"prop_decrease": 0.5}})
    assert plan.step("denoise").params.prop_decrease == 0.5
    with pytest.raises(ProfileError, match="prop_decrease"):
        load_plan("piano", overrides={"denoise": {"prop_decrease": 3}})
    with pytest.raises(ProfileError, match="does not use"):
        load_plan("ltas-only", overrides={"denoise": {"prop_decrease": 0.5}})
    with pytest.raises(ProfileError, match="Extra inputs"):
        load_plan("piano", overrides={"denoise": {"bogus": 1}})


def test_collection_profile_and_order_checks(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        '[[steps]]\nstage = "ingest"\n[[steps]]\nstage = "tag"\n[[steps]]\nstage = "denoise"\n'
    )
    with pytest.raises(ProfileError, match="must start with 'ingest' and end with 'tag'"):
        load_plan("mine", search_dirs=(tmp_path,))
    (tmp_path / "mine.toml").write_text(
        '[[steps]]\nstage = "ingest"\n[[steps]]\nstage = "ltas_eq"\nparams = {reference = "r"}\n'
        '[[steps]]\nstage = "denoise"\n[[steps]]\nstage = "tag"\n'
    )
    with pytest.raises(ProfileError, match="out of the chain order"):
        load_plan("mine", search_dirs=(tmp_path,))
    with pytest.raises(ProfileError, match="known profiles: .*piano"):
        load_plan("nope", search_dirs=(tmp_path,))


def test_unknown_stage() -> None:
    from shellac.stages.registry import get_stage

    with pytest.raises(UnknownStageError, match="unknown stage 'declutter'"):
        get_stage("declutter")


def test_piano_generative_steps_slope_limit_the_consistency_floor() -> None:
    # Since session 36 (docs/benchmarks/session36/noise_slope_rule.txt) the piano profiles' consistency
    # step reads its noise floor slope-limited; every other generative profile keeps the unlimited one.
    for name in ("piano", "piano-declip"):
        params = load_plan(name).step("generative_eq").params
        assert (params.consistency, params.consistency_noise_slope_db) == ("anchored", 6.0)
    others = [n for n in builtin_profile_names() if n not in ("piano", "piano-declip")]
    generative = [n for n in others if "generative_eq" in [s.stage for s in load_plan(n).steps]]
    assert "voice" in generative
    for name in generative:
        assert load_plan(name).step("generative_eq").params.consistency_noise_slope_db is None
