"""ltas_eq in 'chain' mode through the chain: the fitted chain (or why none) is recorded."""

import json
from pathlib import Path

import numpy as np

from shellac.stages.chain import job_plan, run_plan

from .helpers import job_for


def test_chain_method_records_its_design(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a", overrides={"ltas_eq": {"reference": "reference", "method": "chain"}})
    results = run_plan(job, job_plan(job))
    assert {r.stage: r.outcome for r in results}["ltas_eq"] == "ran"
    curves = json.loads((Path(job.recording_dir) / "02-ltas_eq" / "ltas.json").read_text())
    assert curves["method"] == "chain"
    design = curves["chain"]
    gain = np.asarray(curves["applied_gain_db"])
    assert np.isfinite(gain).all() and gain.max() <= 20.0
    if design["chain"] is None:
        # A steady test tone has no quiet frames to read a noise floor from: the EQ stays flat.
        assert "noise floor" in design["not_fitted_reason"]
        assert np.all(gain == 0.0)
    else:
        assert len(design["gain_db"]) == len(design["band_centres_hz"])
    # The bounds the fit reached are in state.json too (none without a fit).
    state = json.loads((Path(job.recording_dir) / "state.json").read_text())
    assert state["stages"]["ltas_eq"]["metrics"]["chain_fit_bounds"] == design["bounds_reached"]
    assert all(b.endswith(("=low", "=high")) for b in design["bounds_reached"])


def test_strength_is_for_the_chain_method_only() -> None:
    import pytest
    from pydantic import ValidationError

    from shellac.stages.ltas_eq import LtasEqParams

    assert LtasEqParams(reference="r", method="chain", strength=0.5).strength == 0.5
    assert LtasEqParams(reference="r").strength == 1.0
    with pytest.raises(ValidationError, match="strength applies to method 'chain' only"):
        LtasEqParams(reference="r", method="ltas", strength=0.5)
    with pytest.raises(ValidationError):
        LtasEqParams(reference="r", method="chain", strength=1.5)
