"""The model store looks bundles up only as plain folder names inside the models directory."""

from pathlib import Path

import pytest

from shellac.engine.errors import ModelLoadingError
from shellac.stages.models import ModelStore
from shellac.stages.profiles import ProfileError, load_plan


@pytest.mark.parametrize("key", ["../../etc", "/abs", "a/b", ".."])
def test_model_keys_never_leave_the_models_dir(tmp_path: Path, key: str) -> None:
    with pytest.raises(ModelLoadingError, match="not a plain bundle name"):
        ModelStore(tmp_path / "models").bundle_dir(key)


@pytest.mark.parametrize("name", ["../../profiles/x", "/tmp/p", "sub/p"])
def test_profile_names_never_leave_their_folders(tmp_path: Path, name: str) -> None:
    with pytest.raises(ProfileError, match="not a plain name"):
        load_plan(name, search_dirs=(tmp_path,))
