"""Stage parameter defaults and a standing's measured settings read with them."""

from shellac.engine.models.standing import HeldoutStanding
from shellac.stages.generative_eq import GenerativeEqParams
from shellac.stages.param_defaults import as_measured, param_defaults

MEASURED = {"denoise": {"prop_decrease": 0.8}, "generative_eq": {"model": "piano", "n_steps": 51}}


def _standing() -> HeldoutStanding:
    rates = {"lsd": 90.0, "ltas_err": 80.0}
    return HeldoutStanding(report="r", git_commit="c", profile="piano", measured_on="m", excerpts=24,
                           wins_percent={"vs_ltas_eq": rates, "vs_input": rates},
                           means_db={"access": {}, "ltas_eq": {}, "input": {}}, settings=MEASURED)


def test_param_defaults_are_the_json_defaults_and_leave_out_required_parameters() -> None:
    defaults = param_defaults(GenerativeEqParams)
    assert "model" not in defaults  # required
    assert defaults["consistency_floor_db"] == 0.0 and defaults["n_steps"] == 51
    assert defaults["consistency"] == "none" and defaults["consistency_floor"] is False


def test_a_parameter_added_since_the_measurement_departs_only_from_its_default() -> None:
    """The measured chain ran before `consistency_floor_db` existed, i.e. as it runs at its default 0."""
    standing = _standing()
    at_default = {**MEASURED, "generative_eq": {**MEASURED["generative_eq"], "consistency_floor_db": 0.0}}
    assert standing.differences(at_default) == ["generative_eq.consistency_floor_db 0.0 (measured None)"]
    read = standing.model_copy(update={"settings": as_measured(standing.settings, at_default)})
    assert read.differences(at_default) == []
    raised = {**MEASURED, "generative_eq": {**MEASURED["generative_eq"], "consistency_floor_db": 5.0,
                                            "n_steps": 8}}
    read = standing.model_copy(update={"settings": as_measured(standing.settings, raised)})
    # A measured value always wins over the default (n_steps 51 measured, its default 51 too here).
    assert read.differences(raised) == ["generative_eq.consistency_floor_db 5.0 (measured 0.0)",
                                        "generative_eq.n_steps 8 (measured 51)"]
    # A stage the run lacks keeps its measured settings as they are.
    assert as_measured(MEASURED, {"generative_eq": {}})["denoise"] == {"prop_decrease": 0.8}
