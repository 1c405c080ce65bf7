"""Engine fixtures: a tiny random-weight HT-Demucs repository built once per session."""

from pathlib import Path

import pytest

from tests.fixtures.tiny_demucs import make_tiny_demucs_repo


@pytest.fixture(scope="session")
def tiny_demucs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demucs local repository holding ``htdemucs.yaml`` and one tiny ``<sig>-<sha8>.th``."""
    return make_tiny_demucs_repo(tmp_path_factory.mktemp("demucs"))
