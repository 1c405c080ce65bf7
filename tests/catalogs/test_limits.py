"""Catalog limits and structure: reserved ids, metadata size, plain names, duplicate headers,
ragged rows and physical line numbers, unsafe output folders, malformed collection.toml."""

from pathlib import Path

import pytest

from shellac.catalogs import load_catalog
from shellac.catalogs.errors import CatalogError
from shellac.catalogs.schema import MAX_FIELD_BYTES, MAX_ROW_BYTES


def _write(catalog_dir: Path, text: str) -> None:
    (catalog_dir / "catalog.csv").write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    "rec_id", ["summary.json", "report.html", "catalog-errors.json", "Runs", "withdrawn"]
)
def test_reserved_ids_are_rejected(catalog_dir: Path, rec_id: str) -> None:
    _write(catalog_dir, f"id,file,content\n{rec_id},a.wav,piano\nok,a.wav,piano\n")
    catalog = load_catalog(catalog_dir)
    assert [r.id for r in catalog.recordings] == ["ok"]
    assert catalog.errors[0].line == 2 and "is reserved" in catalog.errors[0].reason


def test_oversized_metadata_rejects_only_its_row(catalog_dir: Path) -> None:
    big_field = "x" * (MAX_FIELD_BYTES + 1)
    many = ",".join(["y" * (MAX_FIELD_BYTES - 10)] * 5)  # each field fits, the row does not
    huge = "z" * 600_000  # over Prefect's 512 kB parameter limit on its own
    _write(catalog_dir, "id,file,content,notes,c1,c2,c3,c4,c5\n"
           f"a,a.wav,piano,{big_field},,,,,\n"
           f"b,b.flac,piano,,{many}\n"
           f"c,a.wav,piano,{huge},,,,,\n"
           "d,a.wav,piano,fine,,,,,\n")
    catalog = load_catalog(catalog_dir)
    assert [r.id for r in catalog.recordings] == ["d"]
    reasons = {e.line: e.reason for e in catalog.errors}
    assert f"over the {MAX_FIELD_BYTES}-byte limit per field" in reasons[2] and "'notes'" in reasons[2]
    assert f"over the {MAX_ROW_BYTES}-byte limit per row" in reasons[3]
    assert "600000 bytes" in reasons[4]


@pytest.mark.parametrize("column", ["model", "profile"])
@pytest.mark.parametrize("value", ["../../etc/x", "/abs/path", "sub/dir", ".."])
def test_model_and_profile_must_be_plain_names(catalog_dir: Path, column: str, value: str) -> None:
    _write(catalog_dir, f"id,file,content,{column}\nx,a.wav,piano,{value}\n")
    catalog = load_catalog(catalog_dir)
    assert catalog.recordings == ()
    assert "must be a plain name" in catalog.errors[0].reason and column in catalog.errors[0].reason


def test_duplicate_header_is_refused_with_its_line(catalog_dir: Path) -> None:
    _write(catalog_dir, "id,file,File,content\nx,a.wav,b.wav,piano\n")
    with pytest.raises(CatalogError, match=r"line 1: column 'file' appears twice \(columns 2 and 3\)"):
        load_catalog(catalog_dir)


def test_ragged_rows_are_rejected_with_physical_line_numbers(catalog_dir: Path) -> None:
    _write(catalog_dir, 'id,file,content,notes\n'
           'a,a.wav,piano,"two\nlines"\n'          # lines 2-3
           'b,b.flac,piano,x,EXTRA\n'              # line 4: one field too many
           'c,a.wav,piano,"three\nphysical\nlines"\n'  # lines 5-7
           'short,a.wav\n'                         # line 8: too few
           'bad id,a.wav,piano,\n')                # line 9
    catalog = load_catalog(catalog_dir)
    assert [(r.id, r.line) for r in catalog.recordings] == [("a", 2), ("c", 5)]
    assert catalog.get("a").notes == "two\nlines"
    errors = {e.line: e for e in catalog.errors}
    assert sorted(errors) == [4, 8, 9]
    assert errors[4].id == "b" and "has 5 field(s) but the header names 4" in errors[4].reason
    assert errors[8].id == "short" and "has 2 field(s)" in errors[8].reason


def test_unterminated_quote_is_one_clear_error(catalog_dir: Path) -> None:
    _write(catalog_dir, 'id,file,content\na,a.wav,"piano\n')
    with pytest.raises(CatalogError, match="cannot parse .*catalog.csv"):
        load_catalog(catalog_dir)


def test_output_folder_equal_to_source_root_is_refused(tmp_path: Path) -> None:
    # source_root = store/coll, output_root = store, name = coll: outputs would land among the masters.
    store = tmp_path / "store"
    (store / "coll").mkdir(parents=True)
    cat = tmp_path / "cat"
    cat.mkdir()
    (cat / "catalog.csv").write_text("id,file,content\nrec1,rec1/rec1.flac,piano\n")
    (cat / "collection.toml").write_text(
        f'name = "coll"\nsource_root = "{store / "coll"}"\noutput_root = "{store}"\n')
    with pytest.raises(CatalogError, match="overlaps the source root"):
        load_catalog(cat)


def test_output_root_reaching_the_masters_through_a_symlink_is_refused(catalog_dir: Path) -> None:
    link = catalog_dir.parent / "looks-elsewhere"
    link.symlink_to(catalog_dir / "masters")
    with pytest.raises(CatalogError, match="overlaps the source root"):
        load_catalog(catalog_dir, output_root=link)


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('profiles = "piano"', "'profiles' must be a table"),
        ('profile_overrides = 3', "'profile_overrides' must be a table"),
        ('output_root = 5', "'output_root' must be a path in quotes"),
    ],
)
def test_malformed_collection_toml_is_a_catalog_error(catalog_dir: Path, toml: str, needle: str) -> None:
    (catalog_dir / "collection.toml").write_text(f'name = "t"\nsource_root = "masters"\n{toml}\n')
    with pytest.raises(CatalogError, match=needle):
        load_catalog(catalog_dir)
