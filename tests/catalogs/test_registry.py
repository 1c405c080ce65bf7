"""The model registry picks a bundle per catalog row; explicit values win; jobs apply the choice."""

from pathlib import Path

import pytest

from shellac.catalogs import Catalog, load_catalog
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


def _with_references(catalog_dir: Path, profile: str, override: str, refs: tuple[str, str]) -> Catalog:
    """The test catalog with the registry's rules, piano rows restored by ``profile`` with one
    ``ltas_eq`` override line, and a ``reference`` column giving rows a and b ``refs``."""
    (catalog_dir.parent / "models.toml").write_text(RULES)
    (catalog_dir / "collection.toml").write_text(
        'name = "testcoll"\nsource_root = "masters"\noutput_root = "../out"\n'
        f'[profiles]\npiano = "{profile}"\n[profile_overrides.{profile}.ltas_eq]\n{override}\n'
    )
    csv = (catalog_dir / "catalog.csv").read_text(encoding="utf-8").splitlines()
    rows = [csv[0] + ",reference", csv[1] + "," + refs[0], csv[2] + "," + refs[1]]
    (catalog_dir / "catalog.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return load_catalog(catalog_dir)


def test_a_rows_reference_goes_to_both_eq_stages_and_wins(catalog_dir: Path) -> None:
    catalog = _with_references(catalog_dir, "piano", 'reference = "house-reference"',
                               ("refs/caruso-1920s", ""))
    job = build_job(catalog, catalog.get("a"))
    assert job.overrides == {"generative_eq": {"model": "tenor", "reference": "refs/caruso-1920s"},
                             "ltas_eq": {"reference": "refs/caruso-1920s"}}
    assert "reference" not in catalog.get("a").metadata()  # a technical column, not a tag
    # Without one, the collection's reference stands and the generative stage keeps the bundle's.
    assert build_job(catalog, catalog.get("b")).overrides == {
        "generative_eq": {"model": "piano"}, "ltas_eq": {"reference": "house-reference"}}
    # A profile without those stages is left alone.
    (catalog_dir / "profiles").mkdir()
    (catalog_dir / "profiles" / "plain.toml").write_text(
        '[[steps]]\nstage = "ingest"\n[[steps]]\nstage = "tag"\n')
    (catalog_dir / "collection.toml").write_text(
        'name = "testcoll"\nsource_root = "masters"\noutput_root = "../out"\n[profiles]\npiano = "plain"\n'
    )
    assert build_job(load_catalog(catalog_dir), catalog.get("a")).overrides == {}


def test_a_model_reference_must_name_a_plain_bundle() -> None:
    assert _rec(reference="model:tenor").reference == "model:tenor"
    with pytest.raises(ValueError, match="plain bundle name"):
        _rec(reference="model:../x")


def test_a_rows_fixed_reference_turns_register_matching_off(catalog_dir: Path) -> None:
    catalog = _with_references(catalog_dir, "voice", "match_register = true",
                               ("refs/caruso-1920s", "model:soprano"))
    # A folder of the singer's recordings is one fixed reference: no register to match.
    assert build_job(catalog, catalog.get("a")).overrides["ltas_eq"] == {
        "reference": "refs/caruso-1920s", "match_register": False}
    # A bundle named as the row's reference keeps it, with the bundle's register table.
    assert build_job(catalog, catalog.get("b")).overrides["ltas_eq"] == {
        "reference": "model:soprano", "match_register": True}
    # The job's plan is valid either way.
    from shellac.stages.chain import job_plan

    for rec in ("a", "b"):
        assert job_plan(build_job(catalog, catalog.get(rec))).steps
