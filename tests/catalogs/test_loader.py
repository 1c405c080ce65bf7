"""Catalog parsing: good rows load, bad rows are reported with line numbers and do not stop others."""

from pathlib import Path

import pytest

from shellac.catalogs import load_catalog
from shellac.catalogs.errors import CatalogError


def test_good_and_bad_rows(catalog_dir: Path) -> None:
    catalog = load_catalog(catalog_dir)
    assert [r.id for r in catalog.recordings] == ["a", "b", "silent", "gone"]
    a = catalog.get("a")
    assert (a.title, a.performer, a.year, a.content, a.line) == ("Song A", "Enrico Caruso", 1907, "piano", 2)
    assert a.extra == {"shelfmark": "SH-1"}
    errors = {e.line: e for e in catalog.errors}
    assert sorted(errors) == [6, 7]
    assert "id" in errors[6].reason and errors[6].id == "bad id"
    assert "duplicate id (first used on line 2)" in errors[7].reason
    assert str(errors[7]).startswith("catalog.csv line 7 (id 'a')")


def test_paths_and_profiles(catalog_dir: Path) -> None:
    catalog = load_catalog(catalog_dir)
    cfg = catalog.config
    assert cfg.name == "testcoll"
    assert cfg.source_root == (catalog_dir / "masters").resolve()
    assert cfg.collection_dir == (catalog_dir.parent / "out" / "testcoll").resolve()
    assert catalog.master_path(catalog.get("a")) == cfg.source_root / "a.wav"
    assert cfg.profile_for("piano") == "piano-ltas"
    assert cfg.profile_for("voice+accompaniment") == "voice-accompaniment"
    assert cfg.profile_for("piano", "ltas-only") == "ltas-only"
    assert cfg.profile_overrides["piano-ltas"]["ltas_eq"] == {"reference": "reference"}


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("x,/etc/passwd,,,,piano,", "must be relative"),
        ("x,../../secret.wav,,,,piano,", "escapes the source root"),
        ("x,a.wav,,,1700,piano,", "year"),
        ("x,a.wav,,,,harpsichord,", "content"),
        ("x,,,,,piano,", "file"),
    ],
)
def test_rejected_rows(catalog_dir: Path, row: str, needle: str) -> None:
    (catalog_dir / "catalog.csv").write_text(
        "id,file,title,performer,year,content,shelfmark\n" + row + "\n", encoding="utf-8"
    )
    catalog = load_catalog(catalog_dir)
    assert catalog.recordings == ()
    assert len(catalog.errors) == 1 and catalog.errors[0].line == 2
    assert needle in catalog.errors[0].reason


def test_content_is_case_insensitive(catalog_dir: Path) -> None:
    (catalog_dir / "catalog.csv").write_text("id,file,content\nx,a.wav,Piano\n", encoding="utf-8")
    assert load_catalog(catalog_dir).recordings[0].content == "piano"


def test_missing_required_column(catalog_dir: Path) -> None:
    (catalog_dir / "catalog.csv").write_text("id,title\nx,y\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="required column"):
        load_catalog(catalog_dir)


def test_output_inside_source_root_is_refused(catalog_dir: Path) -> None:
    with pytest.raises(CatalogError, match="overlaps the source root"):
        load_catalog(catalog_dir, output_root=catalog_dir / "masters" / "out")


def test_missing_collection_toml(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="collection.toml"):
        load_catalog(tmp_path)
