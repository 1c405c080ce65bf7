"""Code hashes: code changes in a stage or what it imports change them; formatting and docstrings do not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shellac.stages.code_hash import CodeHasher, CodeHashError, stage_code_hash
from shellac.stages.registry import STAGES

# A stage module, a helper package it imports inside a function, and a module it does not import.
PACKAGE = {
    "__init__.py": '"""Top level: imported by name only."""\nRELEASE = "1"\n',
    "stage.py": '''
        """The stage."""
        from toypkg import helpers


        def run(x: float) -> float:
            """Scale x."""
            from toypkg.helpers.gain import gain  # an import inside a function counts too
            return helpers.offset() + gain(x)
    ''',
    "helpers/__init__.py": '''
        """Helpers."""
        from .offsets import offset
    ''',
    "helpers/offsets.py": "from .. import constants\n\n\ndef offset() -> float:\n    return constants.BASE\n",
    "constants.py": "BASE = 1.0\n",
    "helpers/gain.py": '''
        def gain(x: float) -> float:
            """Gain of 2."""
            return 2.0 * x  # linear
    ''',
    "unrelated.py": "VALUE = 3\n",
}


def write_package(root: Path, files: dict[str, str] = PACKAGE) -> Path:
    for name, text in files.items():
        path = root / "toypkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root / "toypkg"


@pytest.fixture
def toypkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("toypkg")]:
        monkeypatch.delitem(sys.modules, name)
    return write_package(tmp_path)


def toy_hash() -> str:
    return CodeHasher(("toypkg",)).digest(["toypkg.stage"])


def test_closure_follows_imports_in_functions_relative_ones_and_enclosing_packages(toypkg: Path) -> None:
    assert CodeHasher(("toypkg",)).closure(["toypkg.stage"]) == [
        "toypkg.constants", "toypkg.helpers", "toypkg.helpers.gain", "toypkg.helpers.offsets", "toypkg.stage"]
    assert "toypkg" not in sys.modules  # found and read, never imported


def test_a_changed_function_body_in_a_dependency_changes_the_hash(toypkg: Path) -> None:
    before = toy_hash()
    gain = toypkg / "helpers" / "gain.py"
    gain.write_text(gain.read_text().replace("2.0 * x", "3.0 * x"))
    assert toy_hash() != before
    gain.write_text(gain.read_text().replace("3.0 * x", "2.0 * x"))
    assert toy_hash() == before
    (toypkg / "constants.py").write_text("BASE = 1.5\n")  # reached by a relative import
    assert toy_hash() != before


def test_each_file_is_read_once_per_hasher(toypkg: Path) -> None:
    hasher = CodeHasher(("toypkg",))
    before = hasher.digest(["toypkg.stage"])
    shutil.rmtree(toypkg)
    assert hasher.digest(["toypkg.stage"]) == before == hasher.digest(["toypkg.stage", "toypkg.stage"])


def test_docstrings_comments_and_formatting_do_not_change_the_hash(toypkg: Path) -> None:
    before = toy_hash()
    gain = toypkg / "helpers" / "gain.py"
    gain.write_text(textwrap.dedent('''
        """A module docstring that was not there."""


        def gain(
            x: float,
        ) -> float:
            """Gain of two (linear), reworded."""
            # a new comment
            return (2.0 * x)
    '''))
    stage = toypkg / "stage.py"
    stage.write_text(stage.read_text().replace('"""Scale x."""', '"""Scale x, documented at length."""'))
    assert toy_hash() == before


def test_modules_not_imported_and_the_top_level_init_do_not_count(toypkg: Path) -> None:
    before = toy_hash()
    (toypkg / "unrelated.py").write_text("VALUE = 4\n")
    (toypkg / "__init__.py").write_text('RELEASE = "2"\n')
    assert toy_hash() == before


def test_the_hash_holds_no_paths(toypkg: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "moved" / "deeper"
    write_package(elsewhere)
    script = ("from shellac.stages.code_hash import CodeHasher; "
              "print(CodeHasher(('toypkg',)).digest(['toypkg.stage']))")
    moved = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": str(elsewhere)})
    assert moved.stdout.strip() == toy_hash()


def test_a_missing_import_is_an_error_naming_it(toypkg: Path) -> None:
    (toypkg / "helpers" / "offsets.py").write_text("import toypkg.gone\n")
    with pytest.raises(CodeHashError, match="'toypkg.gone' is imported but cannot be found"):
        toy_hash()


def test_stage_hashes_agree_between_fresh_processes_and_load_no_torch() -> None:
    script = (
        "import sys; from shellac.stages.code_hash import CodeHasher; h = CodeHasher(); "
        "print(' '.join(h.digest(['shellac.stages.' + s]) for s in sys.argv[1:])); "
        "print(sorted(m for m in ('torch', 'prefect', 'shellac.stages.tag') if m in sys.modules))"
    )
    names = ["denoise", "generative_eq", "tag"]
    runs = [
        subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout.splitlines()
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1]
    assert runs[0][1] == "[]"  # hashing imported neither torch nor Prefect nor the stages
    # In this process, each stage's hash covers its run/fingerprint modules: the same here.
    assert runs[0][0].split() == [stage_code_hash(STAGES[name]) for name in names]
    assert len(set(runs[0][0].split())) == 3 and all(len(h) == 64 for h in runs[0][0].split())


def test_copied_checkout_gives_the_same_stage_hashes(tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).parents[2] / "shellac", tmp_path / "shellac",
                    ignore=shutil.ignore_patterns("__pycache__"))
    script = ("import shellac; from shellac.stages.code_hash import CodeHasher; "
              "print(shellac.__file__); print(CodeHasher().digest(['shellac.stages.ltas_eq']))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)}).stdout.splitlines()
    assert out[0] == str(tmp_path / "shellac" / "__init__.py")
    assert out[1] == stage_code_hash(STAGES["ltas_eq"])
