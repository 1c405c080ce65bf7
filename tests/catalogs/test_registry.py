"""The model registry picks a bundle per catalog row; explicit values win; jobs apply the choice."""

from pathlib import Path

import pytest

from shellac.catalogs import load_catalog
from shellac.catalogs.errors import CatalogError
from shellac.catalogs.registry import ModelRule, load_registry
from shellac.catalogs.schema import Recording
from shellac.jobs import build_job

RULES = """
[[rule]]
performer = ["Enrico Caruso", "Beniamino Gigli"]
model = "tenor"

[[rule]]
voice = "soprano"
model = "soprano"

[[rule]]
content = ["voice", "voice+accompaniment"]
model = "voice"

[[rule]]
content = "piano"
model = "piano"
"""


def _rec(**fields: object) -> Recording:
    return Recording(id="x", file="x.wav", line=2, **{"content": "voice", **fields})


def test_rules_in_order_and_explicit_model_wins(tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text(RULES)
    registry = load_registry(tmp_path / "models.toml")
    assert registry.choose(_rec(performer="enrico caruso")).model == "tenor"
    assert registry.choose(_rec(voice="Soprano")).model == "soprano"
    assert registry.choose(_rec(content="voice+accompaniment")).model == "voice"
    assert registry.choose(_rec(content="piano")).model == "piano"
    explicit = registry.choose(_rec(performer="Enrico Caruso", model="caruso-special"))
    assert explicit.model == "caruso-special" and explicit.reason == "catalog column 'model'"
    assert (
        "rule 1 (performer=Enrico Caruso|Beniamino Gigli)"
        in registry.choose(_rec(performer="Beniamino Gigli")).reason
    )
    assert registry.models == ("tenor", "soprano", "voice", "piano")


def test_rule_without_conditions_matches_everything() -> None:
    assert ModelRule(model="m").matches(_rec(content="piano"))


def test_bad_registry_is_a_catalog_error(tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text('[[rule]]\nvoice = "tenor"\n')
    with pytest.raises(CatalogError, match="model"):
        load_registry(tmp_path / "models.toml")
    (tmp_path / "models.toml").write_text('[[rules]]\nmodel = "x"\n')
    with pytest.raises(CatalogError, match="unknown tables"):
        load_registry(tmp_path / "models.toml")


def test_job_applies_choice_to_model_using_stages(catalog_dir: Path) -> None:
    (catalog_dir.parent / "models.toml").write_text(RULES)  # shared by the collections beside it
    (catalog_dir / "collection.toml").write_text(
        'name = "testcoll"\nsource_root = "masters"\noutput_root = "../out"\n[profiles]\npiano = "piano"\n'
    )
    catalog = load_catalog(catalog_dir)
    assert build_job(catalog, catalog.get("a")).overrides["generative_eq"] == {"model": "tenor"}  # Caruso
    job = build_job(catalog, catalog.get("b"))
    assert job.overrides == {"generative_eq": {"model": "piano"}, "ltas_eq": {"reference": "model:piano"}}
    (catalog_dir / "collection.toml").write_text(
        'name = "testcoll"\nsource_root = "masters"\noutput_root = "../out"\n[profiles]\npiano = "piano"\n'
        '[profile_overrides.piano.generative_eq]\nmodel = "house-piano"\n'
    )
    catalog = load_catalog(catalog_dir)
    job = build_job(catalog, catalog.get("b"))
    assert job.overrides["generative_eq"] == {"model": "house-piano"}  # the collection's choice stands
    assert job.overrides["ltas_eq"] == {"reference": "model:piano"}


def test_model_free_profile_is_left_alone(catalog_dir: Path) -> None:
    (catalog_dir / "models.toml").write_text(RULES)
    catalog = load_catalog(catalog_dir)
    job = build_job(catalog, catalog.get("a"))  # piano-ltas with a folder reference
    assert job.overrides == {"ltas_eq": {"reference": "reference"}}
