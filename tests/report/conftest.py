"""Report fixtures: a collection with an LTAS-EQ recording, a generative one, a failure and a pending one."""

import contextlib
from pathlib import Path

import pytest
import torch

from shellac.engine.errors import ShellacError
from shellac.stages.chain import job_plan, run_plan
from tests.fixtures.bundles import make_tiny_bundle
from tests.stages.helpers import job_for

# A random-weight model, few steps: the stage writes real filters.json / ltas.json quickly.
FAST_GENERATIVE = {"model": "tiny", "n_steps": 3, "filter_iters": 2}


@pytest.fixture
def mixed_catalog(catalog_dir: Path, tmp_path: Path) -> Path:
    """'a' restored by piano-ltas, 'b' by ingest > generative_eq > tag (tiny model), 'silent' failed at
    ingest, 'gone' never ran."""
    torch.set_num_threads(1)
    make_tiny_bundle(tmp_path / "models", "tiny")
    (catalog_dir / "profiles").mkdir(exist_ok=True)
    (catalog_dir / "profiles" / "gen.toml").write_text(
        '[[steps]]\nstage = "ingest"\n[[steps]]\nstage = "generative_eq"\nparams = { model = "tiny" }\n'
        '[[steps]]\nstage = "tag"\n', encoding="utf-8")
    jobs = [job_for(catalog_dir, "a"), job_for(catalog_dir, "silent"),
            job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                    overrides={"generative_eq": FAST_GENERATIVE})]
    for job in jobs:
        with contextlib.suppress(ShellacError):
            run_plan(job, job_plan(job))
    return catalog_dir
