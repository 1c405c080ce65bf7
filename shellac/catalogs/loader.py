"""Load catalog.csv with pandas and validate each row, collecting bad rows instead of stopping."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from shellac.catalogs.collection import CollectionConfig, load_collection_config
from shellac.catalogs.errors import CatalogError
from shellac.catalogs.registry import ModelRegistry, find_registry, load_registry
from shellac.catalogs.schema import KNOWN_COLUMNS, Recording

REQUIRED_COLUMNS = ("id", "file", "content")


@dataclass(frozen=True)
class CatalogRowError:
    """A catalog row that was rejected, with its line number and the reason."""

    line: int
    id: str
    reason: str

    def __str__(self) -> str:
        ident = f" (id {self.id!r})" if self.id else ""
        return f"catalog.csv line {self.line}{ident}: {self.reason}"


@dataclass(frozen=True)
class Catalog:
    """A collection: its settings, its valid recordings and its rejected rows."""

    directory: Path
    config: CollectionConfig
    recordings: tuple[Recording, ...]
    errors: tuple[CatalogRowError, ...] = field(default_factory=tuple)
    registry: ModelRegistry = field(default_factory=ModelRegistry)

    def master_path(self, recording: Recording) -> Path:
        """Absolute path of a recording's master file."""
        return self.config.source_root / recording.file

    def get(self, recording_id: str) -> Recording:
        """The recording with this id."""
        for rec in self.recordings:
            if rec.id == recording_id:
                return rec
        raise CatalogError(f"no recording with id {recording_id!r} in {self.directory}")


def _format_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "row"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def read_csv_rows(csv_path: Path) -> tuple[pd.DataFrame, list[CatalogRowError]]:
    """Read catalog.csv into a frame indexed by each row's physical line number.

    Line numbers count physical lines, so a quoted value spanning lines moves the
    next rows' numbers as an editor shows them. Duplicate header names raise
    ``CatalogError``; a row with more or fewer fields than the header is rejected
    on its own (it is returned as a ``CatalogRowError``), never shifted into other columns.
    """
    # csv's default 128 kB field limit would reject the whole catalog over one long field;
    # the row's own size check rejects that row alone (schema.MAX_FIELD_BYTES).
    previous_limit = csv.field_size_limit(1 << 30)
    line = 1
    try:
        with open(csv_path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            records: list[tuple[int, list[str]]] = []
            for fields in reader:
                records.append((line, fields))
                line = reader.line_num + 1
    except (csv.Error, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot parse {csv_path} near line {line}: {exc}") from exc
    finally:
        csv.field_size_limit(previous_limit)
    if not records or not records[0][1]:
        raise CatalogError(f"{csv_path} is empty: the first line must name the columns (id,file,content,...)")
    header = [str(c).strip().lower() or f"unnamed: {i}" for i, c in enumerate(records[0][1])]
    first: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in first:
            raise CatalogError(
                f"{csv_path} line 1: column {name!r} appears twice (columns {first[name]} and {position}); "
                "rename or remove one"
            )
        first[name] = position
    rows, lines, errors = [], [], []
    for line, fields in records[1:]:
        if not any(f.strip() for f in fields):
            continue  # blank line
        if len(fields) != len(header):
            at = header.index("id") if "id" in header else len(fields)
            rec_id = fields[at].strip() if at < len(fields) else ""
            errors.append(CatalogRowError(
                line, rec_id, f"has {len(fields)} field(s) but the header names {len(header)}; "
                "put a value holding a comma in double quotes"))
            continue
        rows.append(fields)
        lines.append(line)
    frame = pd.DataFrame(rows, columns=header, index=lines, dtype=str) if rows else \
        pd.DataFrame(columns=header, dtype=str)
    return frame, errors


def parse_rows(frame: pd.DataFrame) -> tuple[list[Recording], list[CatalogRowError]]:
    """Validate every row of a catalog DataFrame (all columns as strings, indexed by line number)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise CatalogError(f"catalog.csv lacks the required column(s) {', '.join(missing)}")
    recordings: list[Recording] = []
    errors: list[CatalogRowError] = []
    seen: dict[str, int] = {}
    for index, row in frame.iterrows():
        line = int(index)  # type: ignore[arg-type]
        values = {k: str(v).strip() for k, v in row.items()}
        rec_id = values.get("id", "")
        if not any(values.values()):
            continue  # blank line
        known = {k: v for k, v in values.items() if k in KNOWN_COLUMNS and v != ""}
        extra = {k: v for k, v in values.items() if k not in KNOWN_COLUMNS and v != ""}
        if "content" in known:
            known["content"] = known["content"].lower()
        try:
            rec = Recording(**known, line=line, extra=extra)
        except ValidationError as exc:
            errors.append(CatalogRowError(line, rec_id, _format_validation(exc)))
            continue
        if rec.id in seen:
            errors.append(
                CatalogRowError(line, rec.id, f"duplicate id (first used on line {seen[rec.id]})")
            )
            continue
        seen[rec.id] = line
        recordings.append(rec)
    return recordings, errors


def load_catalog(directory: Path, *, output_root: Path | None = None) -> Catalog:
    """Load ``<directory>/catalog.csv``, ``<directory>/collection.toml`` and the model registry.

    The registry is ``models.toml`` in the catalog directory or its parent.

    Bad rows are returned in ``Catalog.errors`` with their line numbers; only a
    missing or unreadable file, a missing required column or a repeated column name
    raises ``CatalogError``.
    """
    directory = Path(directory).resolve()
    config = load_collection_config(directory, output_root=output_root)
    csv_path = directory / "catalog.csv"
    if not csv_path.is_file():
        raise CatalogError(f"{csv_path} not found: a catalog directory needs a catalog.csv")
    frame, ragged = read_csv_rows(csv_path)
    recordings, errors = parse_rows(frame)
    errors = sorted([*ragged, *errors], key=lambda e: e.line)
    registry = load_registry(find_registry(directory))
    return Catalog(directory, config, tuple(recordings), tuple(errors), registry)
