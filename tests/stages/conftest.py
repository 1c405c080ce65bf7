"""Stage fixtures: a models directory holding a tiny random-weight HT-Demucs under demucs/."""

from pathlib import Path

import pytest

from tests.fixtures.tiny_demucs import make_tiny_demucs_repo


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<models>/demucs/htdemucs.yaml`` plus one tiny ``<sig>-<sha8>.th``; returns ``<models>``."""
    models = tmp_path_factory.mktemp("models")
    make_tiny_demucs_repo(models / "demucs")
    return models
